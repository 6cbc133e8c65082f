import pytest

from tests.world import build_world


@pytest.fixture
def world(app, client):
    return build_world(app, client)
