"""The benchmark scripts of bench/ are importable by their module names, as they import each
other (``bench/`` is not a package)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
