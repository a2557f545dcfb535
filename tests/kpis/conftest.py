import pytest


@pytest.fixture(autouse=True)
def kpi_catalogue(db):
    """Transactional tests elsewhere truncate tables, data migrations included; put the catalogue back."""
    from kpis.services import kpi_catalogue_sync

    kpi_catalogue_sync()
