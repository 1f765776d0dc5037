"""The program's entry loads what an evaluation uses before the collector is tuned (infra.program.prepare_process):
an evaluation of any stack then imports nothing, and never libvirt (only the dynamic providers' process does)."""

from __future__ import annotations

import json
import subprocess
import sys

from infra.paths import PROJECT_DIR
from tests.harness import STACKS

# A fresh interpreter: this test process has imported everything long ago.
_PROBE = """
import json, sys
from tests.harness import run_stack
from infra.program import prepare_process
prepare_process()
loaded = set(sys.modules)
imported = {}
for stack in %r:
    run_stack(stack)
    imported[stack] = sorted(set(sys.modules) - loaded)
    loaded = set(sys.modules)
print(json.dumps({"imported": imported, "libvirt": "libvirt" in sys.modules}))
"""


def test_an_evaluation_after_prepare_process_imports_no_module_and_never_libvirt():
    result = subprocess.run([sys.executable, "-c", _PROBE % (STACKS,)], cwd=PROJECT_DIR, capture_output=True,
                            text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["imported"] == {stack: [] for stack in STACKS}, \
        f"add these to infra.program.EVALUATION_MODULES: {found['imported']}"
    assert found["libvirt"] is False, "libvirt was imported while the program ran"
