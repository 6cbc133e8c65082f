"""Fuzzing runs with ``make fuzz`` (``TRACE_FUZZ=1``): it takes minutes, so a plain
``make test`` skips it."""

from __future__ import annotations

import importlib.util
import os

import pytest

# Without the test extras (schemathesis) there is nothing to collect here.
collect_ignore = [] if importlib.util.find_spec("schemathesis") else ["test_openapi_fuzz.py"]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("TRACE_FUZZ") == "1":
        return
    skip = pytest.mark.skip(reason="fuzzing the API takes minutes: run it with `make fuzz`")
    for item in items:
        if item.get_closest_marker("fuzz"):
            item.add_marker(skip)
