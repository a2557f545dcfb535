"""Pagination. An oversize or malformed page_size answers 400 naming page_size; it is never silently capped."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination


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
    """Stable pagination for the big lists (deals, accounts, the KPI lists): each page is one index range
    from the last row's position, however deep, and nothing is counted. The view's ordering (or the
    client's) must lead with a column that is never null."""

    ordering = "-id"
