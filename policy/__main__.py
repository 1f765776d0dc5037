"""The eaf policy pack: `pulumi preview --policy-pack policy` where Python policy packs run.

Serves the policies of policy/pack.py (plain functions from policy/catalog.py, wrapped as stack validation
policies: they look across resources, e.g. hosts and duplicate devices).

Not everything runs here:
- `secret-outputs` needs to know which outputs are secret; the analyzer hands policies unwrapped values, so it runs
  over the mock harness instead (tests/policy), in the unit job.
- `protected-never-replaced` is about a diff: it runs on the saved preview JSON (`python -m policy.preview`).
- On this machine the pack does not run under the CLI at all: the Python language host that builds here (sdk
  v3.52.0) answers `could not read plugin [policy]: not supported`. The unit tests run the same functions over every
  stack, and tests/policy/test_pack.py drives this pack's analyzer over gRPC as the engine would.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The engine starts the pack in policy/; the project (infra, policy) is its parent folder.
PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policy.pack import pack_policies  # noqa: E402

PolicyPack(name="eaf-policies", enforcement_level=EnforcementLevel.MANDATORY, policies=pack_policies(PROJECT_DIR))
