"""The policy pack: the same checks wrapped for pulumi_policy, and served by `python -m policy` over gRPC.

The CLI here cannot load a Python policy pack (the language host that builds on this machine answers
`could not read plugin [policy]: not supported`), so the engine's side is played by the test: it starts the pack
exactly as the engine does (`python -m policy`, port on stdout) and calls the Analyzer service's AnalyzeStack
with the resources of a harness run.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import grpc
import pulumi
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import PolicyResource, PolicyResourceOptions, StackValidationArgs
from pulumi_policy.policy import PolicyCustomTimeouts

from infra.paths import PROJECT_DIR
from policy.catalog import STACK_POLICIES
from policy.pack import pack_policies
from tests.harness import run_stack
from tests.policy.test_placement_and_pci import TWO_CONTROLLERS_ON_HV01

PACK_START_TIMEOUT_S = 30


def _policy_resources(run) -> list[PolicyResource]:
    resources = []
    for r in run.resources:
        options = PolicyResourceOptions(r.protect, list(r.ignore_changes), r.delete_before_replace, [],
                                        PolicyCustomTimeouts(0, 0, 0), [], r.parent or None)
        resources.append(PolicyResource(r.type, r.inputs, r.urn, r.name, options, None, None, [], {}))
    return resources


def test_the_pack_holds_every_policy_that_can_run_in_a_pack() -> None:
    assert [p.name for p in pack_policies()] == [p.name for p in STACK_POLICIES if p.in_pack]
    assert "secret-outputs" not in [p.name for p in pack_policies()]


def test_a_pack_policy_reports_the_violating_resource() -> None:
    run = run_stack("prod-a", overrides=TWO_CONTROLLERS_ON_HV01)
    spread = next(p for p in pack_policies() if p.name == "prod-controllers-spread")
    reported: list[tuple[str, str | None]] = []
    spread.validate(StackValidationArgs(_policy_resources(run)), lambda message, urn=None: reported.append(
        (message, urn)))
    assert sorted(urn.rsplit("::", 1)[1] for _message, urn in reported) == [
        "okd-proda-hv01-domain-eaf-prod-a-ctrl-0", "okd-proda-hv01-domain-eaf-prod-a-ctrl-1"]


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    process = subprocess.Popen([sys.executable, "-m", "policy"], cwd=PROJECT_DIR, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            pytest.fail(f"`python -m policy` did not print its port: {port!r}\n{process.stderr.read()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=PACK_START_TIMEOUT_S)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wire(value):
    """Inputs as the engine sends them to an analyzer: an asset (a chart's values file) in its wire form."""
    if isinstance(value, pulumi.StringAsset):
        return {rpc._special_sig_key: rpc._special_asset_sig, "text": value.text}
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _analyze_stack(stub, run) -> list:
    request = analyzer_pb2.AnalyzeStackRequest()
    for r in run.resources:
        properties = json_format.ParseDict(_wire(r.inputs), struct_pb2.Struct())
        request.resources.append(analyzer_pb2.AnalyzerResource(
            type=r.type, properties=properties, urn=r.urn, name=r.name, parent=r.parent,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect)))
    return list(stub.AnalyzeStack(request).diagnostics)


def test_the_served_pack_passes_prod_b(analyzer, stack_runs) -> None:
    diagnostics = _analyze_stack(analyzer, stack_runs("prod-b"))
    assert diagnostics == [], [d.message for d in diagnostics]


def test_the_served_pack_reports_controllers_sharing_a_host(analyzer) -> None:
    diagnostics = _analyze_stack(analyzer, run_stack("prod-a", overrides=TWO_CONTROLLERS_ON_HV01))
    assert {d.policyName for d in diagnostics} == {"prod-controllers-spread"}, [d.message for d in diagnostics]
    assert {d.urn.rsplit("::", 1)[1] for d in diagnostics} == {
        "okd-proda-hv01-domain-eaf-prod-a-ctrl-0", "okd-proda-hv01-domain-eaf-prod-a-ctrl-1"}
    assert all(d.policyPackName == "eaf-policies" and d.enforcementLevel == analyzer_pb2.MANDATORY
               for d in diagnostics)
