"""Shared fixture for the identifier tests: assert a rejection and inspect it."""

from __future__ import annotations

import json

import pytest

from trace_service.identifiers import IdentifierError


def _rejects(func, value, code, *fragments, **details):
    """Call ``func(value)``; assert it raises ``code`` whose message names every fragment.

    ``details`` items must appear in ``err.details``. Returns the error for more checks.
    The details must be JSON-serialisable and ``str(err)`` must be the message.
    """
    with pytest.raises(IdentifierError) as info:
        func(value)
    err = info.value
    assert err.code == code, f"expected {code}, got {err.code}: {err.message}"
    assert str(err) == err.message
    for fragment in fragments:
        assert fragment in err.message, f"{fragment!r} not in {err.message!r}"
    for key, expected in details.items():
        assert err.details.get(key) == expected, (key, err.details)
    json.dumps(err.as_dict())
    return err


@pytest.fixture
def rejects():
    """Return ``rejects(func, value, code, *message_fragments, **expected_details)``."""
    return _rejects
