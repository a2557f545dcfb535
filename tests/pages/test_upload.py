"""The import page: preview lists every bad row by line, field and message; import writes all or nothing."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from accounts.models import Account, Deal
from tests import factories

pytestmark = pytest.mark.django_db


def _csv(text: str, name: str = "accounts.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def _check(client, kind: str, upload):
    return client.post(reverse("sync-upload"), {"kind": kind, "file": upload})


def _import(client):
    return client.post(reverse("sync-upload"), {"action": "import"}, follow=True)


def test_it_previews_then_imports_valid_accounts(client, manager_user):
    client.force_login(manager_user)
    upload = _csv("external_id,name,country\nUP-1,Upload One,US\nUP-2,Upload Two,DE\n")
    preview = _check(client, "accounts", upload)
    assert preview.status_code == 200
    assert "2 accounts rows, all valid" in preview.content.decode()
    assert not Account.objects.filter(external_id__startswith="UP-").exists()  # the preview writes nothing

    done = _import(client)
    assert "2 accounts created, 0 updated, 0 unchanged" in done.content.decode()
    assert dict(Account.objects.filter(external_id__startswith="UP-").values_list("external_id", "country")) == {
        "UP-1": "US",
        "UP-2": "DE",
    }


def test_it_is_idempotent_on_a_second_import(client, manager_user):
    client.force_login(manager_user)
    for _ in range(2):
        _check(client, "accounts", _csv("external_id,name,country\nUP-1,Upload One,US\n"))
        done = _import(client)
    assert "0 accounts created, 0 updated, 1 unchanged" in done.content.decode()
    assert Account.objects.filter(external_id="UP-1").count() == 1


def test_it_lists_every_bad_row_by_line_and_field_and_imports_nothing(client, manager_user):
    client.force_login(manager_user)
    factories.make_account(external_id="ACC-KNOWN")
    upload = _csv(
        "external_id,name,account_external_id,amount,stage,created_on\n"
        "DL-1,Fine,ACC-KNOWN,10.00,proposal,2025-01-02\n"
        "DL-2,Bad amount,ACC-KNOWN,lots,proposal,2025-01-02\n"
        "DL-3,Unknown account,ACC-NOPE,5.00,proposal,2025-01-02\n",
        name="deals.csv",
    )
    preview = _check(client, "deals", upload)
    page = preview.content.decode()
    assert "2 problems in 3 deals rows; nothing imported" in page
    assert "line 3" in page and "<code>amount</code>" in page
    assert "line 4" in page and "<code>account_external_id</code>" in page
    assert "Import 3" not in page

    # Nothing was kept for import: an import now writes nothing.
    done = _import(client)
    assert "Nothing to import" in done.content.decode()
    assert not Deal.objects.filter(external_id__startswith="DL-").exists()


def test_it_reads_xlsx(client, manager_user):
    client.force_login(manager_user)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["external_id", "name", "country", "employees"])
    sheet.append(["XL-1", "From Excel", "FR", 12])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("accounts.xlsx", buffer.getvalue())
    assert "1 accounts row, all valid" in _check(client, "accounts", upload).content.decode()
    _import(client)
    assert Account.objects.get(external_id="XL-1").employees == 12


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("accounts.txt", b"external_id\n", "must end in .csv or .xlsx"),
        ("accounts.xlsx", b"not a workbook", "could not be read as XLSX"),
        ("accounts.csv", b"\xff\xfe\x00bad", "The file is not UTF-8 text (line 1): save it as CSV UTF-8."),
    ],
)
def test_it_rejects_an_unreadable_file_with_a_message(client, manager_user, name, content, message):
    client.force_login(manager_user)
    response = _check(client, "accounts", SimpleUploadedFile(name, content))
    assert response.status_code == 200
    assert message in response.content.decode()


def test_it_is_for_managers_only(client, rep_user):
    client.force_login(rep_user)
    assert client.get(reverse("sync-upload")).status_code == 403
    response = _check(client, "accounts", _csv("external_id,name,country\nUP-9,Rep Upload,US\n"))
    assert response.status_code == 403
    assert not Account.objects.filter(external_id="UP-9").exists()


def test_it_needs_a_login(client):
    response = client.get(reverse("sync-upload"))
    assert response.status_code == 302
    assert "login" in response["Location"]
