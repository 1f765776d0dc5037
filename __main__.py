"""The eaf Pulumi program: read the stack's config, compose the layers, export. Everything else lives in infra/."""

from infra.program import main, prepare_process

prepare_process()
main()
