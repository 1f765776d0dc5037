"""The eaf Pulumi program: read the stack's config, compose the layers, export. Everything else lives in infra/."""

from infra.ops.state_guard import guard_engine_run
from infra.program import main, prepare_process

guard_engine_run()  # the engine's entry only (mocks call main directly): shared state, own passphrase, checkpoint
prepare_process()
main()
