"""GET <list>/export/?format=csv|xlsx: the list's rows as a file.

The same scoping (visible_to) and the same filters, search and ordering as the list, applied after
scoping so they can only narrow it. CSV goes through PostgreSQL COPY; XLSX through openpyxl, capped.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from core.api.viewsets import computed_sql
from core.exports import EXPORT_ROW_LIMIT, csv_copy_response, xlsx_response

EXPORT_FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_schema():
    return extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(EXPORT_FORMATS),
                required=True,
                description="File format. Takes the list's filters, search and ordering too.",
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV with a header row."),
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX, one sheet."),
            (400, "application/json"): OpenApiResponse(description="Bad format or filter, named."),
        },
    )


class ExportMixin:
    """For viewsets with FastListMixin: exports the columns the list renders, named as in the list.

    The list's computed fields (fast_list_expressions) are exported from the same SQL.
    """

    export_name = "export"

    def perform_content_negotiation(self, request, force=False):
        # ?format= names the file format here, not a DRF renderer; errors still answer JSON.
        if getattr(self, "action", None) == "export":
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    def export_headers(self) -> list[str]:
        return [*self.fast_list_columns, *self.fast_list_expressions]

    def export_queryset(self):
        annotations = {
            f"export_{name}": computed_sql(expression) for name, expression in self.fast_list_expressions.items()
        }
        queryset = self.filter_queryset(self.get_queryset())
        if annotations:
            queryset = queryset.annotate(**annotations)
        return queryset.values_list(*self.fast_list_columns.values(), *annotations)

    @export_schema()
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request, *args, **kwargs):
        file_format = request.query_params.get("format")
        if file_format not in EXPORT_FORMATS:
            raise ValidationError({"format": [f"Choose one of: {', '.join(EXPORT_FORMATS)}."]})
        queryset = self.export_queryset()
        headers = self.export_headers()
        if file_format == "csv":
            return csv_copy_response(queryset=queryset, headers=headers, filename=self.export_name)
        rows = list(queryset[: EXPORT_ROW_LIMIT + 1])
        if len(rows) > EXPORT_ROW_LIMIT:
            raise ValidationError(
                {"format": [f"XLSX holds at most {EXPORT_ROW_LIMIT:,} rows here; narrow the filters or use csv."]}
            )
        return xlsx_response(rows=[headers, *rows], filename=self.export_name, sheet_title=self.export_name)
