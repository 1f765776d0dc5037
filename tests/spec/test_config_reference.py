"""docs/config.md is generated from the spec models and must match them."""

from infra.spec.reference import config_reference
from tests.harness import PROJECT_DIR


def test_docs_config_md_is_up_to_date():
    committed = (PROJECT_DIR / "docs" / "config.md").read_text()
    assert committed == config_reference(), "regenerate: python -m infra config-reference > docs/config.md"


def test_reference_lists_every_node_group_setting():
    text = config_reference()
    for key in ("eaf:nodes.workers.count", "eaf:nodes.gpuWorkers.migLayout", "eaf:hosts[].gpus[].address",
                "eaf:nodes.controllers.nodes.<name>.ip", "eaf:pullSecret"):
        assert f"`{key}`" in text, key
