import psycopg2
import pytest

from tests.conftest import database_url_for_current_connection


@pytest.fixture(autouse=True)
def kpi_catalogue(db):
    """Transactional tests elsewhere truncate tables, data migrations included; put the catalogue back."""
    from kpis.services import kpi_catalogue_sync

    kpi_catalogue_sync()


@pytest.fixture
def other_session(db):
    """A cursor on a second connection (autocommit), to hold locks another recompute would hold."""
    other = psycopg2.connect(database_url_for_current_connection())
    other.autocommit = True
    yield other.cursor()
    other.close()
