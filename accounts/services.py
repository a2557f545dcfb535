"""Sync: idempotent upsert by external_id of accounts, deals and products.

One validation path serves the API (single and bulk), CSV/XLSX uploads and `manage.py import_data`.
A batch is all-or-nothing: every row is checked first and, if any row is bad, nothing is written and
every bad row's index, field and message comes back. Valid batches are written with one
INSERT … ON CONFLICT (external_id) DO UPDATE statement; rows whose values did not change are left alone
(so updated_at and the downstream hooks only move for real changes).

Every row is a full record: an optional field left out is reset to its default. A file (upload or
`import_data`) is the exception: a column its header lacks keeps the stored value of an existing record
(sync_file_upsert fills it in from the table before the usual validation and write).

Text that PostgreSQL (or UTF-8) cannot hold — a NUL character, a lone UTF-16 surrogate — and dates in any
form but YYYY-MM-DD are refused by row and field like any other bad value. A manager scoped to some
territories changes only the accounts they see, and not the fields that place them (account_move_refusal).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import functools
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import psycopg2.extensions
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, models, transaction

from accounts.models import Account, Campaign, Deal, Product, ProductLine
from core.access import access_scope
from core.hooks import accounts_changed_on_commit, deals_changed_on_commit
from reps.models import Rep
from territories.models import AccountTerritoryMembership
from territories.services import RULE_FIELDS

MAX_ROWS_PER_BATCH = 20_000
ROW_FIELD = "non_field_errors"
NUL_MESSAGE = "Null characters are not allowed."
SURROGATE_MESSAGE = "Surrogate characters are not allowed: U+{code:X}."  # as DRF's CharField words it
SCOPED_CREATE_MESSAGE = (
    "A manager limited to some territories cannot create accounts (where a new account lands is decided "
    "by the assignment engine after it is saved); an unscoped manager or an integration token can."
)
SCOPED_MOVE_MESSAGE = (
    "Moving an account between territories changes other managers' territories: ask a manager of the whole alignment."
)
OUTSIDE_SCOPE_MESSAGE = "This record is outside your territories and cannot be changed."
# A synced date is YYYY-MM-DD only: Django's parse_date also takes 20261101 and 2026-W44-1 (date.fromisoformat).
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# pg advisory lock (class, kind) held by a sync batch's transaction: see sync_rows_upsert.
SYNC_LOCK_CLASS = 40402


@dataclass(frozen=True)
class RowError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


class UpsertRejected(Exception):  # noqa: N818 - a domain outcome, not a bug
    """The batch was refused; nothing was written."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids_by_external_id: dict[str, int] = field(default_factory=dict)
    changed_ids: list[int] = field(default_factory=list)
    created_external_ids: set[str] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class Reference:
    """An input column naming another record by a natural key, stored as a foreign key id."""

    model: type[models.Model]
    key: str  # the natural key on the referenced model
    attname: str  # the foreign-key column on the synced model
    required: bool = False
    scoped: bool = False  # resolve through visible_to(user)


@dataclass(frozen=True)
class _StoredReference:
    """A file row's reference to keep as stored (its column is not in the file): taken as is by validation."""

    pk: int


@dataclass(frozen=True)
class SyncKind:
    model: type[models.Model]
    fields: tuple[str, ...]  # plain model fields taken from the row
    references: dict[str, Reference]
    unique_fields: tuple[str, ...] = ()  # other unique columns, checked across the batch and the table
    # Columns that place a record in territories: a row whose values here changed (or a new row) "moved".
    placement_columns: tuple[str, ...] = ()
    # Told (changed ids, moved ids) inside the transaction; registers what runs once it commits.
    changed_hook: Callable[[list[int], list[int]], None] | None = None


SYNC_KINDS: dict[str, SyncKind] = {
    "accounts": SyncKind(
        model=Account,
        fields=(
            "name",
            "industry",
            "employees",
            "annual_revenue",
            "business_type",
            "country",
            "region",
            "city",
            "postal_code",
            "latitude",
            "longitude",
            "status",
            "customer_since",
        ),
        references={},
        placement_columns=tuple(sorted(RULE_FIELDS)),
        changed_hook=lambda changed_ids, moved_ids: accounts_changed_on_commit(moved_ids),
    ),
    "products": SyncKind(
        model=Product,
        fields=("sku", "name", "list_price"),
        references={
            "product_line": Reference(ProductLine, key="code", attname="product_line_id", required=True),
        },
        unique_fields=("sku",),
    ),
    "deals": SyncKind(
        model=Deal,
        fields=("name", "amount", "stage", "probability", "created_on", "expected_close_on", "closed_on"),
        references={
            "account_external_id": Reference(
                Account, key="external_id", attname="account_id", required=True, scoped=True
            ),
            "product_external_id": Reference(Product, key="external_id", attname="product_id"),
            "rep_external_id": Reference(Rep, key="external_id", attname="rep_id"),
            "campaign_external_id": Reference(Campaign, key="external_id", attname="campaign_id"),
        },
        placement_columns=("account_id", "product_id"),
        changed_hook=deals_changed_on_commit,
    ),
}


# --- validation -------------------------------------------------------------------------------------

_MISSING = object()


def _type_problem(model_field: models.Field, value) -> str | None:
    """JSON types the model field would otherwise coerce silently (12.7 → 12, true → 1)."""
    if value is None:
        return None
    if isinstance(value, bool) and not isinstance(model_field, models.BooleanField):
        return "A boolean is not valid here."
    if isinstance(model_field, (models.DateField, models.DateTimeField)):
        if not isinstance(value, (str, datetime.date)):
            return "A date in YYYY-MM-DD format is required."
    elif isinstance(model_field, models.CharField):
        if not isinstance(value, str):
            return "A string is required."
    elif isinstance(model_field, models.IntegerField):
        if isinstance(value, float) and not value.is_integer():
            return "A whole number is required."
        if not isinstance(value, (int, float, str)):
            return "A whole number is required."
    elif isinstance(model_field, models.DecimalField) and not isinstance(value, (int, float, str, decimal.Decimal)):
        return "A number is required."
    return None


def text_problem(text: str) -> str | None:
    """Why this text cannot be stored or sent to PostgreSQL, or None: a NUL character (text columns cannot
    hold it) or a lone UTF-16 surrogate (JSON's "\\ud800" escape: not encodable as UTF-8)."""
    if "\x00" in text:
        return NUL_MESSAGE
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError as error:  # only a surrogate fails: the rest of Unicode encodes
            return SURROGATE_MESSAGE.format(code=ord(text[error.start]))
    return None


def _storable_text(value) -> bool:
    """A string that may be sent to the database as a lookup value."""
    return isinstance(value, str) and text_problem(value) is None


def _field_clean(model_field: models.Field, raw):
    """The stored value for one input value, or ValidationError naming the problem."""
    if raw is _MISSING:
        if model_field.has_default():
            return model_field.get_default()
        if model_field.null:
            return None
        raise ValidationError("This field is required.")
    is_text = isinstance(model_field, models.CharField)
    if raw is None and is_text and model_field.blank:
        raw = ""
    if raw == "" and not is_text:
        raw = None  # an empty CSV cell means "no value"
    problem = _type_problem(model_field, raw)
    if problem:
        raise ValidationError(problem)
    if isinstance(raw, str):
        problem = text_problem(raw)
        if problem:
            raise ValidationError(problem)  # the write would fail in the database driver
    if isinstance(raw, str) and is_text:
        raw = raw.strip()
    is_date = isinstance(model_field, models.DateField) and not isinstance(model_field, models.DateTimeField)
    if is_date and isinstance(raw, str) and raw and not ISO_DATE.fullmatch(raw):
        raise ValidationError(model_field.error_messages["invalid"], code="invalid", params={"value": raw})
    if isinstance(raw, float) and isinstance(model_field, models.DecimalField):
        raw = repr(raw)  # avoid binary float noise in Decimal
    # Field.clean() minus its choices check, which rebuilds the whole choice list on every call
    # (about 1 ms a row for the 249 countries); a cached set answers the same question.
    value = model_field.to_python(raw)
    if value is None:
        if not model_field.null:
            raise ValidationError(model_field.error_messages["null"], code="null")
        return None
    if value in model_field.empty_values:
        if not model_field.blank:
            raise ValidationError(model_field.error_messages["blank"], code="blank")
    else:
        choices = _choice_values(model_field)
        if choices is not None and value not in choices:
            raise ValidationError(
                model_field.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
    model_field.run_validators(value)
    return value


@functools.cache
def _choice_values(model_field: models.Field) -> frozenset | None:
    if not model_field.choices:
        return None
    return frozenset(key for key, _ in model_field.flatchoices)


def _messages(error: ValidationError) -> list[tuple[str, str]]:
    if hasattr(error, "error_dict"):
        return [
            (ROW_FIELD if name == NON_FIELD_ERRORS else name, message)
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return [(ROW_FIELD, message) for message in error.messages]


def _resolve_references(kind: SyncKind, rows: list, user) -> dict[str, dict[str, int]]:
    """One query per referenced model: natural key → id (hidden records of scoped models are left out)."""
    resolved: dict[str, dict[str, int]] = {}
    for column, reference in kind.references.items():
        keys = {row[column] for row in rows if isinstance(row, dict) and _storable_text(row.get(column))}
        manager = reference.model.objects
        queryset = manager.visible_to(user) if reference.scoped and user is not None else manager.all()
        resolved[column] = dict(queryset.filter(**{f"{reference.key}__in": keys}).values_list(reference.key, "id"))
    return resolved


def sync_rows_validate(
    *, kind: str, rows: list, user=None, lines: list[int] | None = None
) -> tuple[list[dict], list[RowError]]:
    """Check a batch; returns (rows ready to write, errors). Rows are ready only when errors is empty.

    lines: each row's line in its file, so messages naming other rows name lines (errors keep indexes)."""
    spec = SYNC_KINDS[kind]
    model = spec.model
    if not isinstance(rows, list):
        return [], [RowError(-1, ROW_FIELD, "Expected a list of objects.")]
    if len(rows) > MAX_ROWS_PER_BATCH:
        return [], [RowError(-1, ROW_FIELD, f"At most {MAX_ROWS_PER_BATCH} rows per request; got {len(rows)}.")]
    allowed = {"external_id", *spec.fields, *spec.references}
    model_fields = {name: model._meta.get_field(name) for name in ("external_id", *spec.fields)}
    references = _resolve_references(spec, rows, user)
    errors: list[RowError] = []
    cleaned_rows: list[dict] = []
    sound: dict[int, dict] = {}  # the rows without errors of their own, by index

    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append(RowError(index, ROW_FIELD, "Expected an object."))
            continue
        row_errors: list[RowError] = [
            RowError(index, _field_name_text(name), "Unknown field.") for name in sorted(set(row) - allowed, key=str)
        ]
        values: dict = {}
        for name, model_field in model_fields.items():
            try:
                values[model_field.attname] = _field_clean(model_field, row.get(name, _MISSING))
            except ValidationError as error:
                row_errors.extend(RowError(index, name, message) for message in error.messages)
        if values.get("external_id") == "":
            row_errors.append(RowError(index, "external_id", "This field cannot be blank."))
        for column, reference in spec.references.items():
            raw = row.get(column)
            if isinstance(raw, _StoredReference):  # only a file's absent column (sync_file_upsert) has one
                values[reference.attname] = raw.pk
            elif raw in (None, ""):
                values[reference.attname] = None
                if reference.required:
                    row_errors.append(RowError(index, column, "This field is required."))
            elif not isinstance(raw, str):
                row_errors.append(RowError(index, column, "A string is required."))
            elif text_problem(raw):
                row_errors.append(RowError(index, column, text_problem(raw)))
            elif raw not in references[column]:
                label = reference.model._meta.verbose_name
                row_errors.append(RowError(index, column, f"No {label} with {reference.key} '{raw}'."))
            else:
                values[reference.attname] = references[column][raw]
        if not row_errors:
            try:
                model(**values).clean()  # cross-field rules (close dates, paired coordinates…)
            except ValidationError as error:
                row_errors.extend(RowError(index, name, message) for name, message in _messages(error))
        errors.extend(row_errors)
        cleaned_rows.append(values)
        if not row_errors:
            sound[index] = values

    # The rules across rows and against the table run on every row that passed its own checks, so one
    # answer lists every bad row (not the cross-row ones only once the rest are fixed).
    errors.extend(_batch_problems(spec, sound, user, lines))
    errors.sort(key=lambda error: error.index)
    return cleaned_rows, errors


def _field_name_text(name: str) -> str:
    """An unknown field's name as an error can echo it (a lone surrogate cannot be encoded as UTF-8)."""
    return name if text_problem(name) is None else name.encode("utf-8", "backslashreplace").decode()


def _batch_problems(spec: SyncKind, rows: dict[int, dict], user, lines: list[int] | None = None) -> list[RowError]:
    """Rules across rows and against the table: duplicates, unique columns, records outside the scope,
    account moves by a scoped manager. rows: the rows that passed their own checks, by index."""
    problems: list[RowError] = []
    for column in ("external_id", *spec.unique_fields):
        positions: dict[str, list[int]] = defaultdict(list)
        for index, row in rows.items():
            positions[row[column]].append(index)
        for value, indexes in positions.items():
            if len(indexes) > 1:
                # A file's reader sees lines; an API caller sees its list, whose errors' index counts from 0.
                if lines is not None:
                    where = "on lines " + ", ".join(str(lines[i]) for i in indexes)
                else:
                    where = "in rows " + ", ".join(str(i) for i in indexes) + " (counted from 0)"
                problems.extend(RowError(i, column, f"Duplicated {column} '{value}' {where}.") for i in indexes)
    if not rows:
        return problems
    external_ids = {index: row["external_id"] for index, row in rows.items()}
    for column in spec.unique_fields:
        taken = dict(
            spec.model.objects.filter(**{f"{column}__in": [row[column] for row in rows.values()]}).values_list(
                column, "external_id"
            )
        )
        problems.extend(
            RowError(index, column, f"{column} '{row[column]}' already belongs to '{taken[row[column]]}'.")
            for index, row in rows.items()
            if row[column] in taken and taken[row[column]] != row["external_id"]
        )
    if user is not None and hasattr(spec.model.objects, "visible_to") and not access_scope(user).everything:
        existing = set(
            spec.model.objects.filter(external_id__in=external_ids.values()).values_list("external_id", flat=True)
        )
        visible = set(
            spec.model.objects.visible_to(user).filter(external_id__in=existing).values_list("external_id", flat=True)
        )
        refuses_new = spec.model is Account  # account_create_refusal: a scoped caller creates none
        # An account they see keeps its place: the fields territory rules read may not change.
        stored = (
            {
                values.pop("external_id"): values
                for values in Account.objects.filter(external_id__in=visible).values("external_id", *RULE_FIELDS)
            }
            if refuses_new and visible
            else {}
        )
        for index, external_id in external_ids.items():
            if external_id in existing - visible:
                problems.append(RowError(index, "external_id", OUTSIDE_SCOPE_MESSAGE))
            elif external_id not in existing and refuses_new:
                problems.append(RowError(index, "external_id", SCOPED_CREATE_MESSAGE))
            elif external_id in stored:
                refusals = account_move_refusal(user=user, stored=stored[external_id], incoming=rows[index])
                problems.extend(RowError(index, name, message) for name, message in refusals.items())
    return problems


def account_create_refusal(*, user) -> str | None:
    """Why this user may not create accounts, or None.

    A new account is placed by the assignment engine after it commits, so at creation nobody knows
    whether it will land in a scoped manager's territories: created anyway, it would vanish from their
    view (and every retry of the same sync would then be refused as outside their territories). So scoped
    managers do not create accounts; they change the ones they see."""
    scope = access_scope(user)
    if scope.everything:
        return None
    return SCOPED_CREATE_MESSAGE


def account_move_refusal(*, user, stored: Mapping[str, object], incoming: Mapping[str, object]) -> dict[str, str]:
    """{field: why} for each field territory rules read (territories.services.RULE_FIELDS) that this user
    may not change from its stored value to the incoming one; empty when the change may go ahead.

    For the same reason a scoped manager creates no accounts (account_create_refusal): a changed rule
    field lets the engine move the account, possibly out of their territories — into other managers'
    territories and figures, and out of their view, so the same sync sent again would be refused. So a
    scoped manager changes everything else of the accounts they see; sending a rule field unchanged (an
    idempotent batch) is fine. Every write path asks this: sync (bulk, by external id, files) and the
    account API's PATCH/PUT. Fields absent from incoming are not being changed."""
    if user is None or access_scope(user).everything:
        return {}
    return {
        name: SCOPED_MOVE_MESSAGE
        for name in sorted(RULE_FIELDS)
        if name in incoming and not _same_value(stored.get(name), incoming[name])
    }


def account_update_refusal(*, user, account: Account, values: Mapping[str, object]) -> dict[str, str]:
    """account_move_refusal for a change of an Account instance to values (the API's PATCH/PUT)."""
    stored = {name: getattr(account, name) for name in RULE_FIELDS}
    return account_move_refusal(user=user, stored=stored, incoming=values)


def _same_value(stored, incoming) -> bool:
    # A country is stored as its code; the model instance hands a Country, which compares to its code.
    if stored is None or incoming is None:
        return stored is incoming
    return stored == incoming


ACCOUNT_HISTORY_MESSAGE = (
    "This account has territory history (it was in a territory), which is kept for the KPIs: set its status instead."
)
ACCOUNT_DEALS_MESSAGE = "This account has deals: delete them first, or set its status instead."


def account_delete_refusal(*, account: Account) -> str | None:
    """Why this account cannot be deleted, or None. The engine records every territory an account has been
    in (memberships, protected: the KPIs attribute past deals by them), so an account it ever placed stays;
    an account that is no longer a customer is given a status instead."""
    if AccountTerritoryMembership.objects.filter(account_id=account.pk).exists():
        return ACCOUNT_HISTORY_MESSAGE
    if account.deals.exists():
        return ACCOUNT_DEALS_MESSAGE
    return None


# --- writing ----------------------------------------------------------------------------------------


def _upsert_sql(spec: SyncKind, columns: list[str], values_sql: str) -> str:
    table = spec.model._meta.db_table
    quoted = [connection.ops.quote_name(column) for column in columns]
    updates = [name for name in quoted if name != '"external_id"']
    assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in updates)
    current = ", ".join(f"{table}.{name}" for name in updates)
    incoming = ", ".join(f"EXCLUDED.{name}" for name in updates)
    # Unchanged rows are skipped by the WHERE, so RETURNING lists only inserted and really updated rows.
    return (
        f"INSERT INTO {table} ({', '.join(quoted)}, created_at, updated_at) VALUES {values_sql} "
        f"ON CONFLICT (external_id) DO UPDATE SET {assignments}, updated_at = EXCLUDED.updated_at "
        f"WHERE ({current}) IS DISTINCT FROM ({incoming}) "
        f"RETURNING id, external_id, (xmax = 0) AS inserted"
    )


def _sync_lock(kind: str) -> None:
    """Batches of one kind take turns (until the transaction ends; taking it again in one is harmless)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SYNC_LOCK_CLASS, list(SYNC_KINDS).index(kind)])


def sync_rows_upsert(*, kind: str, rows: list, user=None, lines: list[int] | None = None) -> UpsertResult:
    """Validate and write a batch, all or nothing. Raises UpsertRejected listing every bad row."""
    spec = SYNC_KINDS[kind]
    cleaned, errors = sync_rows_validate(kind=kind, rows=rows, user=user, lines=lines)
    if errors:
        raise UpsertRejected(errors)
    result = UpsertResult()
    if not cleaned:
        return result
    columns = list(cleaned[0])
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ", now(), now())"
    # Rows are locked (by _placement_before, then by the upsert) in external_id order, and batches of one
    # kind take turns: two batches sharing rows never wait on each other's locks in a cycle (locking in
    # the model's order, then upserting in request order, deadlocked concurrent identical batches).
    cleaned = sorted(cleaned, key=lambda row: row["external_id"])
    with transaction.atomic(), connection.cursor() as cursor:
        _sync_lock(kind)
        placed_before = _placement_before(spec, cleaned)
        # One statement for the whole batch. Values are bound by psycopg2 (mogrify), then the statement
        # runs through Django's cursor so it is logged and counted like any other query.
        raw = cursor.cursor
        values = b",".join(raw.mogrify(placeholders, tuple(row[column] for column in columns)) for row in cleaned)
        encoding = psycopg2.extensions.encodings[raw.connection.encoding]
        cursor.execute(_upsert_sql(spec, columns, values.decode(encoding)))
        written = cursor.fetchall()
        for pk, external_id, inserted in written:
            result.ids_by_external_id[external_id] = pk
            result.changed_ids.append(pk)
            if inserted:
                result.created += 1
                result.created_external_ids.add(external_id)
            else:
                result.updated += 1
        result.unchanged = len(cleaned) - len(written)
        if spec.changed_hook is not None and result.changed_ids:
            moved_ids = _moved_ids(spec, cleaned, placed_before, result.ids_by_external_id)
            spec.changed_hook(list(result.changed_ids), moved_ids)
    return result


def _placement_before(spec: SyncKind, rows: list[dict]) -> dict[str, tuple]:
    """external_id → placement values of the rows already stored (locked: the upsert follows)."""
    if not spec.placement_columns:
        return {}
    stored = (
        spec.model.objects.select_for_update()
        .filter(external_id__in=[row["external_id"] for row in rows])
        .order_by("external_id")
        .values_list("external_id", *spec.placement_columns)
    )
    return {external_id: tuple(values) for external_id, *values in stored}


def _moved_ids(spec: SyncKind, rows: list[dict], before: dict[str, tuple], ids: dict[str, int]) -> list[int]:
    """Ids of written rows that are new or whose placement values changed."""
    if not spec.placement_columns:
        return []
    return [
        ids[row["external_id"]]
        for row in rows
        if row["external_id"] in ids
        and before.get(row["external_id"]) != tuple(row[column] for column in spec.placement_columns)
    ]


def sync_row_upsert(*, kind: str, external_id: str, data: dict, user=None) -> tuple[models.Model, bool]:
    """Upsert one record; returns (instance, created). Raises UpsertRejected.

    The external id is stripped as every synced value is (" A-1 " names the record "A-1"), and the record
    is read back in the write's transaction, under the id that was written."""
    if not isinstance(data, dict):
        raise UpsertRejected([RowError(0, ROW_FIELD, "Expected an object.")])
    external_id = sync_external_id_clean(external_id)
    body_id = data.get("external_id", external_id)
    if (body_id.strip() if isinstance(body_id, str) else body_id) != external_id:
        raise UpsertRejected([RowError(0, "external_id", "Does not match the external_id in the URL.")])
    with transaction.atomic():
        result = sync_rows_upsert(kind=kind, rows=[{**data, "external_id": external_id}], user=user)
        instance = SYNC_KINDS[kind].model.objects.get(external_id=external_id)
    return instance, external_id in result.created_external_ids


def sync_external_id_clean(external_id: str) -> str:
    """An external id from a URL as the sync stores it (stripped); UpsertRejected if none could be."""
    problem = text_problem(external_id)
    if problem:
        raise UpsertRejected([RowError(0, "external_id", problem)])
    return external_id.strip()


def sync_errors_by_field(errors: Iterable[RowError]) -> dict[str, list[str]]:
    """A single row's errors in the usual {field: [messages]} shape."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for error in errors:
        grouped[error.field].append(error.message)
    return dict(grouped)


# --- files (CSV / XLSX): the same rows, read from an upload or `manage.py import_data` -----------------


class SyncFileUnreadable(Exception):  # noqa: N818 - a domain outcome, not a bug
    """The file cannot be read as rows; the message tells the user what to do about it."""


@dataclass
class SyncFile:
    """A CSV/XLSX file's rows, with what the upsert and the error messages need to know about the file."""

    columns: list[str]  # the header's column names: a kind's column missing here keeps the stored value
    rows: list[dict]  # each row's non-blank cells by column name
    lines: list[int]  # each row's line in the file (CSV, first line of the record) or row in the sheet (XLSX)
    problems: list[RowError] = field(default_factory=list)  # cells the header has no column for


CSV_DELIMITERS = ",;\t"


def _cell_text(value):
    """Spreadsheet cells arrive typed; turn them into the strings a CSV would carry (dates stay dates)."""
    if value is None or isinstance(value, (str, datetime.date)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _csv_records(file) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) of every non-blank record of a CSV file, header first."""
    data = file.read()
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise SyncFileUnreadable(f"The file is not UTF-8 text (line {line}): save it as CSV UTF-8.") from error
    # Spreadsheets saved in some locales separate values with ';' (or a tab): read what the header uses.
    header_line = next((line for line in io.StringIO(data, newline="") if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(header_line, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:  # a single column: nothing to tell
        delimiter = ","
    reader = csv.reader(io.StringIO(data, newline=""), delimiter=delimiter)
    start = 1
    for cells in reader:
        # A quoted value may span lines: the record started after the previous one ended (blank lines count).
        if not all(_cell_blank(cell) for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _xlsx_records(file) -> Iterator[tuple[int, tuple]]:
    """(row number, cells) of every non-blank row of an XLSX file's first sheet, header first."""
    from openpyxl import load_workbook

    sheet = load_workbook(file, read_only=True, data_only=True).worksheets[0]
    for number, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        if not all(_cell_blank(cell) for cell in cells):
            yield number, cells


def sync_file_read(*, file, file_format: str) -> SyncFile:
    """The rows of a CSV (UTF-8; comma, semicolon or tab separated) or XLSX (first sheet) file under its
    header row, each with its line. Blank cells are left out, so they take the field's default; blank
    lines are skipped. Raises SyncFileUnreadable (or the reader's error) for a file that is no such thing."""
    if file_format == "csv":
        records = _csv_records(file)
    elif file_format == "xlsx":
        records = _xlsx_records(file)
    else:
        raise ValueError(f"Unsupported file format {file_format!r}; use csv or xlsx.")
    _, header_cells = next(records, (0, ()))
    header = [str(cell).strip() if cell is not None else "" for cell in header_cells]
    while header and not header[-1]:
        header.pop()  # a sheet's blank cells right of the header
    sheet = SyncFile(columns=[name for name in header if name], rows=[], lines=[])
    for line, cells in records:
        extra = list(cells[len(header) :])
        while extra and _cell_blank(extra[-1]):
            extra.pop()  # trailing separators carry nothing
        if extra:  # values no column names would be dropped without a word: the file is misaligned
            count = len(extra)
            message = f"{count} value{'s' if count != 1 else ''} more than the header has columns."
            sheet.problems.append(RowError(len(sheet.rows), ROW_FIELD, message))
        sheet.rows.append(
            {
                name: _cell_text(cell)
                for name, cell in zip(header, cells, strict=False)
                if name and cell not in (None, "")
            }
        )
        sheet.lines.append(line)
    return sheet


def sync_file_columns_missing(*, kind: str, columns: Iterable[str]) -> list[str]:
    """The kind's columns a file's header lacks (in the kind's order): existing records keep them.
    (external_id is not one of them: a file without it is refused.)"""
    spec = SYNC_KINDS[kind]
    present = set(columns)
    return [name for name in (*spec.fields, *spec.references) if name not in present]


def _file_rows_complete(spec: SyncKind, sheet: SyncFile, *, lock: bool) -> list[dict]:
    """The file's rows with each column its header lacks taken from the stored record (one query), so a
    file of a few columns changes only those. New records are left as they are and take the defaults."""
    missing = [name for name in (*spec.fields, *spec.references) if name not in sheet.columns]
    if "external_id" not in sheet.columns or not missing or len(sheet.rows) > MAX_ROWS_PER_BATCH:
        return sheet.rows  # nothing to fill, or validation refuses the batch anyway
    paths = {name: spec.references[name].attname if name in spec.references else name for name in missing}
    external_ids = {row["external_id"].strip() for row in sheet.rows if _storable_text(row.get("external_id"))}
    stored = spec.model.objects.filter(external_id__in=external_ids).order_by("external_id")
    if lock:
        stored = stored.select_for_update(of=("self",))  # in external_id order, as sync_rows_upsert locks
    found = {values.pop("external_id"): values for values in stored.values("external_id", *paths.values())}
    completed = []
    for row in sheet.rows:
        external_id = row.get("external_id")
        record = found.get(external_id.strip()) if isinstance(external_id, str) else None
        if record is None:
            completed.append(row)
            continue
        kept = {name: record[path] for name, path in paths.items()}
        for name in kept.keys() & spec.references.keys():
            # A reference is kept by id: its natural key may be empty (a rep without an external_id).
            kept[name] = None if kept[name] is None else _StoredReference(kept[name])
        completed.append({**row, **kept})
    return completed


def sync_file_validate(*, kind: str, sheet: SyncFile, user=None) -> list[RowError]:
    """Every problem of a file's rows (cells outside the header, then the usual checks), by row index."""
    rows = _file_rows_complete(SYNC_KINDS[kind], sheet, lock=False)
    _, errors = sync_rows_validate(kind=kind, rows=rows, user=user, lines=sheet.lines)
    return sorted([*sheet.problems, *errors], key=lambda error: error.index)


def sync_file_upsert(*, kind: str, sheet: SyncFile, user=None) -> UpsertResult:
    """Write a file's rows as sync_rows_upsert does, except that a column the header lacks keeps the stored
    value of an existing record. Raises UpsertRejected listing every problem."""
    if sheet.problems:
        raise UpsertRejected(sync_file_validate(kind=kind, sheet=sheet, user=user))
    with transaction.atomic():
        # The stored values are read under the batch lock and the rows' locks: nothing changes them
        # between this read and the write.
        _sync_lock(kind)
        rows = _file_rows_complete(SYNC_KINDS[kind], sheet, lock=True)
        return sync_rows_upsert(kind=kind, rows=rows, user=user, lines=sheet.lines)
