"""CSV and XLSX exports of a table's rows, with spreadsheet formula injection escaped.

A cell starting with = + - @ (or a tab / carriage return that some spreadsheets skip before them) is
read as a formula by Excel and LibreOffice; a leading apostrophe makes it plain text.
"""

import csv
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

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


def _xlsx_cell(value):
    # Excel cells hold no timezone-aware datetimes and no control characters (a synced name may carry
    # them): those show as U+FFFD instead of failing the whole export.
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def xlsx_response(*, rows: Iterable[Iterable], filename: str, sheet_title: str = "Export") -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for row in _escaped_rows(rows):
        sheet.append([_xlsx_cell(value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


# PostgreSQL type oids (pg_type) whose values are text that a spreadsheet could read as a formula.
_TEXT_TYPE_OIDS = frozenset({25, 1042, 1043})  # text, char(n), varchar(n)
_BOOLEAN_TYPE_OID = 16
_TIMESTAMPTZ_TYPE_OID = 1184
_CSV_CHUNK_BYTES = 256 * 1024


def _copy_column(position: int, type_oid: int, header: str, quote) -> str:
    column = f"export.c{position}"
    if type_oid in _TEXT_TYPE_OIDS:
        # The same rule as cell_escape, set-based: no per-cell Python.
        expression = (
            f"CASE WHEN left({column}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || {column}"
            f" ELSE {column} END"
        )
    elif type_oid == _BOOLEAN_TYPE_OID:
        expression = f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    elif type_oid == _TIMESTAMPTZ_TYPE_OID:
        expression = f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    else:
        expression = column  # numbers and dates: PostgreSQL's text form is what the API renders
    return f"{expression} AS {quote(header)}"


def _copy_into(spool, *, queryset, headers, connection, quote) -> None:
    from django.core.exceptions import EmptyResultSet

    try:
        inner_sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # .none(): nothing to select, only the header
        spool.write((",".join(headers) + "\n").encode())
        return
    with connection.cursor() as cursor:
        # mogrify binds the parameters the way psycopg2 would for execute(): values never become SQL.
        inner = cursor.mogrify(inner_sql, params).decode()
        aliases = ", ".join(f"c{position}" for position in range(len(headers)))
        source = f"({inner}) AS export ({aliases})"
        cursor.execute(f"SELECT * FROM {source} LIMIT 0")  # noqa: S608 - no user text: bound above
        type_oids = [column.type_code for column in cursor.description]
        select = ", ".join(
            _copy_column(position, type_oid, header, quote)
            for position, (type_oid, header) in enumerate(zip(type_oids, headers, strict=True))
        )
        cursor.copy_expert(f"COPY (SELECT {select} FROM {source}) TO STDOUT WITH (FORMAT csv, HEADER)", spool)


def csv_copy_response(*, queryset, headers: list[str], filename: str) -> StreamingHttpResponse:
    """CSV of a .values_list() queryset by PostgreSQL COPY (SELECT ...) TO STDOUT: the fast path.

    headers name the queryset's columns in order. Text cells are formula-escaped in SQL; the output is
    spooled (memory, then disk) and streamed in chunks, so memory stays bounded whatever the size.
    """
    from django.db import connections

    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    # Closed by the response's chunk generator once streamed (or here if COPY fails).
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    try:
        _copy_into(spool, queryset=queryset, headers=headers, connection=connection, quote=quote)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)

    def chunks():
        try:
            while chunk := spool.read(_CSV_CHUNK_BYTES):
                yield chunk
        finally:
            spool.close()

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
