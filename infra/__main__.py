"""`python -m infra COMMAND ...` (see infra/cli)."""

from infra.cli import main

raise SystemExit(main())
