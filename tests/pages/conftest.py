import pytest

from kpis.services import kpi_catalogue_sync
from tests.pages.world import build_pages_world


@pytest.fixture
def world(db):
    kpi_catalogue_sync()  # a transactional test run before may have flushed the migration's catalogue
    return build_pages_world()
