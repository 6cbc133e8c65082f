"""Fuzzing runs with ``make fuzz`` (``TRACE_FUZZ=1``): it takes minutes, so a plain
``make test`` skips it."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("TRACE_FUZZ") == "1":
        return
    skip = pytest.mark.skip(reason="fuzzing the API takes minutes: run it with `make fuzz`")
    for item in items:
        if item.get_closest_marker("fuzz"):
            item.add_marker(skip)
