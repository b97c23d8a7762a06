"""Shared fixtures: the live syslog-ng harness lives in tests/sng.py."""

import os
import sys

# tests/ holds helper modules (sng.py) next to the test files.
sys.path.insert(0, os.path.dirname(__file__))

# Under CI the generated examples are the same on every run (derandomize), so that a
# landing never depends on luck; outside CI hypothesis explores new examples each time.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
