"""``python -m asyncgroups``: the command-line interface."""

from asyncgroups.cli.main import main

raise SystemExit(main())
