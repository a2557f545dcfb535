"""Pagination. An oversize or malformed page_size answers 400 naming page_size; it is never silently capped."""

import binascii
import json
from base64 import b64decode, b64encode
from urllib import parse

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination, _reverse_ordering
from rest_framework.utils.urls import remove_query_param, replace_query_param


class ValidatedPageSizeMixin:
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise ValidationError({self.page_size_query_param: ["A whole number is required."]})
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"Must be between 1 and {self.max_page_size}."]})
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
                parameter["description"] = f"Rows per page, 1–{self.max_page_size} (default {self.page_size})."
        return parameters


class StandardPagination(ValidatedPageSizeMixin, PageNumberPagination):
    pass


class LargeListCursorPagination(ValidatedPageSizeMixin, CursorPagination):
    """Keyset pagination for the big lists (deals, accounts, the KPI lists): each page is one index range
    from the last row's key, however deep, and nothing is counted.

    The key is every ordering column (OrderingFilter ends each ordering with the primary key, so it is
    unique) and the cursor carries all of its values: the next page is the rows after
    (col, …, id) > (v, …, last id), so rows sharing a value are neither repeated nor skipped, and no OFFSET
    is ever needed (DRF's cursor keeps only the first column and counts equal rows with an offset, capped
    at 1000: a list where more rows share a value looped). A nullable column has no place in such a key
    (NULL compares as unknown), so ordering a cursor list by one is a 400 naming `ordering`."""

    ordering = ("-id",)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.key_fields = [self._key_field(queryset.model, term.lstrip("-")) for term in self.ordering]
        self.cursor = self.decode_cursor(request)
        reverse = self.cursor is not None and self.cursor.reverse
        queryset = queryset.order_by(*(_reverse_ordering(self.ordering) if reverse else self.ordering))
        if self.cursor is not None and self.cursor.position is not None:
            queryset = queryset.filter(self._after(self.cursor.position, reverse=reverse))
        rows = list(queryset[: self.page_size + 1])
        self.page = rows[: self.page_size]
        more = len(rows) > self.page_size
        positioned = self.cursor is not None and self.cursor.position is not None
        if reverse:
            self.page.reverse()
            self.has_next, self.has_previous = positioned, more
        else:
            self.has_next, self.has_previous = more, positioned
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page

    def get_next_link(self):
        if not self.has_next:
            return None
        if not self.page:
            # Nothing before the reverse cursor's position: every row comes after it, from the first page.
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=self._position(self.page[-1])))

    def get_previous_link(self):
        if not self.has_previous:
            return None
        # An empty page (its position was past the end): the page before it is the last page.
        position = self._position(self.page[0]) if self.page else None
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=position))

    def decode_cursor(self, request):
        """Cursor(reverse, position = the key's values, typed) or None; anything unreadable is 404."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"))
            reverse = tokens.get("r", ["0"])[0]
            if reverse not in ("0", "1"):
                raise ValueError(reverse)
            raw = tokens.get("k", [None])[0]
            if set(tokens) - {"r", "k"} or (reverse == "0" and raw is None):
                raise ValueError("not a cursor of this list")  # a forward cursor always has a key
            position = None if raw is None else self._key_values(json.loads(raw))
        except (TypeError, ValueError, DjangoValidationError, binascii.Error):
            raise NotFound(self.invalid_cursor_message) from None
        return Cursor(offset=0, reverse=reverse == "1", position=position)

    def encode_cursor(self, cursor):
        tokens = {"r": "1"} if cursor.reverse else {}
        if cursor.position is not None:
            tokens["k"] = json.dumps(cursor.position, separators=(",", ":"))
        encoded = b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def _key_field(self, model, column: str):
        model_field = next((f for f in model._meta.concrete_fields if column in (f.name, f.attname)), None)
        if model_field is None or model_field.null:
            raise ValidationError(
                {"ordering": [f"{column!r} may be empty, so this list (paged by cursor) cannot be ordered by it."]}
            )
        return model_field

    def _position(self, row) -> list[str]:
        """The row's key as text (JSON-safe); decode_cursor types it again with each column's field."""
        values = []
        for model_field in self.key_fields:
            if isinstance(row, dict):
                value = row[model_field.attname] if model_field.attname in row else row[model_field.name]
            else:
                value = getattr(row, model_field.attname)
            values.append(value.isoformat() if hasattr(value, "isoformat") else str(value))
        return values

    def _key_values(self, raw) -> list:
        if not isinstance(raw, list) or len(raw) != len(self.key_fields) or not all(isinstance(v, str) for v in raw):
            raise ValueError("cursor key")
        values = []
        for model_field, text in zip(self.key_fields, raw, strict=True):
            target = model_field.target_field if model_field.is_relation else model_field
            value = target.to_python(text)
            if value is None:
                raise ValueError("cursor key")
            target.run_validators(value)  # integer ranges: an out-of-range id is a bad cursor, not a 500
            values.append(value)
        return values

    def _after(self, values: list, *, reverse: bool):
        """Rows after the key in the order read (the reversed ordering for a reverse cursor)."""
        columns = [(term.lstrip("-"), term.startswith("-") != reverse) for term in self.ordering]
        descending = {desc for _, desc in columns}
        first, first_desc = columns[0]
        if len(columns) == 1:
            return Q(**{f"{first}__{'lt' if first_desc else 'gt'}": values[0]})
        # The first column's bound is the index range; the rest places the page inside equal values.
        bound = Q(**{f"{first}__{'lte' if first_desc else 'gte'}": values[0]})
        if len(descending) == 1:
            row = Tuple(*(F(column) for column, _ in columns))
            after = (TupleLessThan if first_desc else TupleGreaterThan)(row, tuple(values))
            return bound & Q(after)
        after = Q()
        for index in reversed(range(len(columns))):
            column, desc = columns[index]
            step = Q(**{f"{column}__{'lt' if desc else 'gt'}": values[index]})
            after = step if index == len(columns) - 1 else step | (Q(**{column: values[index]}) & after)
        return bound & after
