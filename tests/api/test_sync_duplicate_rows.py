"""The bulk API names duplicated rows by the same 0-based index its errors carry, and says so."""

import pytest

from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db


def test_duplicates_name_the_rows_by_their_index_counted_from_0(manager_user):
    rows = [{"external_id": "B-1", "name": "One", "country": "US"}] * 2
    response = client_for(manager_user).post(url("account-bulk"), rows, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": i, "field": "external_id", "message": "Duplicated external_id 'B-1' in rows 0, 1 (counted from 0)."}
        for i in (0, 1)
    ]
