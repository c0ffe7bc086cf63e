"""The end-to-end tests run against the test stack (``parley_testing``'s ``stack`` fixture);
their shared helpers live beside them (``e2e_people.py``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
