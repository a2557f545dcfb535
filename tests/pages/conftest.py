import pytest

from tests.pages.world import build_pages_world


@pytest.fixture
def world(db):
    return build_pages_world()
