"""``python -m parley_probe``: see ``parley_probe.cli``."""

from parley_probe.cli import main

raise SystemExit(main())
