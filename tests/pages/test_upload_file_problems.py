"""The import page with the files people really have: partial columns, blank lines, stray cells,
semicolons, other encodings, too many rows — each named by its line, nothing lost silently."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Account
from tests import factories

pytestmark = pytest.mark.django_db


def _check(client, kind: str, text: str | bytes, name: str = "accounts.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(reverse("sync-upload"), {"kind": kind, "file": SimpleUploadedFile(name, data)})


def _import(client):
    return client.post(reverse("sync-upload"), {"action": "import"}, follow=True)


def _error_cells(response) -> list[tuple[str, str, str]]:
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", response.content.decode())
    return [(where, re.sub(r"</?code>", "", field), message) for where, field, message in rows]


@pytest.fixture
def manager(client, manager_user):
    client.force_login(manager_user)
    return client


def test_a_file_of_a_few_columns_keeps_the_others_and_says_so(manager):
    account = factories.make_account(external_id="PART-1", city="Boston", postal_code="02139", employees=80)
    preview = _check(manager, "accounts", "external_id,name,country\nPART-1,Renamed,US\n").content.decode()
    assert "1 accounts row, all valid" in preview
    assert "Not in the file, kept as stored: industry, employees, annual_revenue" in preview

    Account.objects.filter(pk=account.pk).update(city="Cambridge")  # changed between preview and import
    assert "1 updated" in _import(manager).content.decode()
    account.refresh_from_db()
    assert (account.name, account.city, account.postal_code, account.employees) == ("Renamed", "Cambridge", "02139", 80)


def test_errors_name_the_real_line_after_blank_lines(manager):
    response = _check(manager, "accounts", "external_id,name,country\n\nL-1,One,US\n\nL-2,Two,Nowhere\n")
    assert _error_cells(response) == [("line 5", "country", "Value &#x27;Nowhere&#x27; is not a valid choice.")]


def test_cells_beyond_the_header_are_an_error(manager):
    response = _check(manager, "accounts", "external_id,name,country\nx,Name,US,CA,SF,oops\n")
    assert _error_cells(response) == [("line 2", "", "3 values more than the header has columns.")]
    assert "Nothing to import" in _import(manager).content.decode()


def test_duplicates_name_the_lines(manager):
    response = _check(manager, "accounts", "external_id,name,country\nW-8,One,US\nW-8,Two,US\n")
    assert _error_cells(response) == [
        ("line 2", "external_id", "Duplicated external_id &#x27;W-8&#x27; on lines 2, 3."),
        ("line 3", "external_id", "Duplicated external_id &#x27;W-8&#x27; on lines 2, 3."),
    ]


def test_a_semicolon_separated_file_is_read(manager):
    response = _check(manager, "accounts", "external_id;name;country\nSEMI-1;Semi;FR\n")
    assert "1 accounts row, all valid" in response.content.decode()
    _import(manager)
    assert Account.objects.get(external_id="SEMI-1").country == "FR"


def test_a_file_that_is_not_utf8_says_how_to_save_it(manager):
    response = _check(manager, "accounts", "external_id,name,country\nU-1,Müller,DE\n".encode("cp1252"))
    page = response.content.decode()
    assert "The file is not UTF-8 text (line 2): save it as CSV UTF-8." in page
    assert "codec" not in page


def test_a_file_wide_error_names_no_field(manager, monkeypatch):
    monkeypatch.setattr("accounts.services.MAX_ROWS_PER_BATCH", 2)
    response = _check(manager, "accounts", "external_id,name,country\nM-1,a,US\nM-2,b,US\nM-3,c,US\n")
    assert _error_cells(response) == [("file", "", "At most 2 rows per request; got 3.")]
