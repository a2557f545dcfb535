"""CSV and XLSX exports of a table's rows, with spreadsheet formula injection escaped.

A cell starting with = + - @ (or a tab / carriage return that some spreadsheets skip before them) is
read as a formula by Excel and LibreOffice; a leading apostrophe makes it plain text.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_ROW_LIMIT = 100_000


def cell_escape(value):
    """Numbers and dates stay typed; text that a spreadsheet would evaluate gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal | date | datetime):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _escaped_rows(rows: Iterable[Iterable]) -> Iterator[list]:
    for row in rows:
        yield [cell_escape(value) for value in row]


class _Echo:
    def write(self, value):
        return value


def csv_response(*, rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _escaped_rows(rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(*, rows: Iterable[Iterable], filename: str, sheet_title: str = "Export") -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for row in _escaped_rows(rows):
        # Timezone-aware datetimes are not allowed in Excel cells.
        sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
