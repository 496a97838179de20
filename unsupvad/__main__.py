"""``python -m unsupvad``: the command line."""

from .cli import main

raise SystemExit(main())
