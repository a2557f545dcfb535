"""Reading a CSV/XLSX file for import: each row keeps its real line, cells outside the header are an error,
the separator is the header's, and an unreadable file says what to do."""

import io

import pytest
from openpyxl import Workbook

from accounts.services import ROW_FIELD, SyncFileUnreadable, sync_file_read, sync_file_validate

pytestmark = pytest.mark.django_db


def _csv(text: str):
    return sync_file_read(file=io.BytesIO(text.encode()), file_format="csv")


def _xlsx(*rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return sync_file_read(file=buffer, file_format="xlsx")


def test_csv_rows_keep_their_line_across_blank_lines_and_multi_line_values():
    sheet = _csv('external_id,name,country\n\nA-1,"Two\nlines",US\n\n,,\nA-2,Next,US\n')
    assert sheet.columns == ["external_id", "name", "country"]
    assert [row["external_id"] for row in sheet.rows] == ["A-1", "A-2"]
    assert sheet.lines == [3, 7]  # A-1 starts on line 3 and ends on 4; lines 5 and 6 are blank


def test_xlsx_rows_keep_their_sheet_row_across_blank_rows():
    sheet = _xlsx(["external_id", "name"], ["A-1", "One"], [], [None, None], ["A-2", "Two"])
    assert sheet.lines == [2, 5]


def test_an_error_names_the_real_line():
    sheet = _csv("external_id,name,country\n\nA-1,One,Nowhere\n")
    [error] = sync_file_validate(kind="accounts", sheet=sheet)
    assert (sheet.lines[error.index], error.field) == (3, "country")


def test_cells_beyond_the_header_are_an_error_naming_the_row():
    sheet = _csv("external_id,name,country\nA-1,One,US\nx,Name,US,CA,SF,oops\nA-3,Three,US,,\n")
    assert [(sheet.lines[p.index], p.field, p.message) for p in sheet.problems] == [
        (3, ROW_FIELD, "3 values more than the header has columns.")
    ]  # trailing empty cells carry nothing and are no problem
    errors = sync_file_validate(kind="accounts", sheet=sheet)
    assert [error.message for error in errors] == ["3 values more than the header has columns."]


def test_xlsx_cells_beyond_the_header_are_an_error():
    sheet = _xlsx(["external_id", "name", "country"], ["A-1", "One", "US", "extra"])
    assert [p.message for p in sheet.problems] == ["1 value more than the header has columns."]


@pytest.mark.parametrize("separator", [";", "\t"])
def test_it_reads_the_separator_the_header_uses(separator):
    sheet = _csv(separator.join(["external_id", "name", "country"]) + "\n" + separator.join(["A-1", "One", "US"]))
    assert sheet.rows == [{"external_id": "A-1", "name": "One", "country": "US"}]
    assert sync_file_validate(kind="accounts", sheet=sheet) == []


def test_a_file_that_is_not_utf8_says_so_and_names_the_line():
    data = "external_id,name,country\nA-1,Müller,DE\n".encode("latin-1")
    with pytest.raises(SyncFileUnreadable, match=r"^The file is not UTF-8 text \(line 2\): save it as CSV UTF-8\.$"):
        sync_file_read(file=io.BytesIO(data), file_format="csv")


def test_duplicates_in_a_file_name_the_lines():
    sheet = _csv("external_id,name,country\nD-1,One,US\n\nD-1,Again,US\n")
    errors = sync_file_validate(kind="accounts", sheet=sheet)
    assert [error.message for error in errors] == ["Duplicated external_id 'D-1' on lines 2, 4."] * 2
