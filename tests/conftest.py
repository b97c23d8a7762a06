"""Shared fixtures: the live syslog-ng harness lives in tests/sng.py."""

import os
import sys

# tests/ holds helper modules (sng.py) next to the test files.
sys.path.insert(0, os.path.dirname(__file__))
