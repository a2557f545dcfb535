"""Upsert-by-external_id endpoints shared by accounts, deals and products (see accounts.services)."""

import io

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.services import (
    ROW_FIELD,
    RowError,
    UpsertRejected,
    sync_errors_by_field,
    sync_external_id_clean,
    sync_row_upsert,
    sync_rows_upsert,
)
from core.api.exceptions import BodyTooLarge
from core.api.serializers import FIELD_ERRORS_SCHEMA, ErrorDetailSerializer

# An external id is the CRM's key, and may hold "/" (sent as is or as %2F, which the server decodes to "/"
# before routing): the route takes the rest of the path, up to its trailing slash.
EXTERNAL_ID_PATH = r"by-external-id/(?P<external_id>.+)"
FIELD_ERRORS = OpenApiResponse(
    FIELD_ERRORS_SCHEMA,
    description="Refused, by field: {field: [messages]} (the same checks as a bulk row; external_id: a bad id, "
    "one that differs from the URL's, a record outside the caller's territories or one they may not create).",
)
FORBIDDEN = OpenApiResponse(ErrorDetailSerializer, description="A read-only token, or a role that may not write.")
NOT_FOUND = OpenApiResponse(ErrorDetailSerializer, description="No such record among those the caller sees.")


class BulkJSONParser(BaseParser):
    """JSON for the bulk endpoints, read from the stream up to settings.SYNC_BULK_MAX_BODY_SIZE: DRF hands
    its own JSONParser request.body, capped by DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which refused batches
    well below the documented 20,000 rows (so this is no JSONParser subclass; it delegates to one)."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.SYNC_BULK_MAX_BODY_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)  # refused before reading it
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(limit)
        return JSONParser().parse(io.BytesIO(body), media_type, parser_context)


def sync_actions(*, kind: str, serializer, row_serializer, result_serializer, errors_serializer):
    """Build the mixin that adds GET/PUT by-external-id/{external_id}/ and POST bulk/ to a viewset."""

    external_id_parameter = OpenApiParameter("external_id", str, OpenApiParameter.PATH)

    class SyncActionsMixin:
        def get_object(self):
            # The by-external-id routes name the record by external_id instead of pk.
            if "external_id" not in self.kwargs:
                return super().get_object()
            try:
                external_id = sync_external_id_clean(self.kwargs["external_id"])
            except UpsertRejected as rejected:
                raise ValidationError(sync_errors_by_field(rejected.errors)) from None
            instance = self.get_queryset().filter(external_id=external_id).first()
            if instance is None:
                raise NotFound()
            self.check_object_permissions(self.request, instance)
            return instance

        @extend_schema(
            methods=["GET"],
            parameters=[external_id_parameter],
            responses={200: serializer, 400: FIELD_ERRORS, 404: NOT_FOUND},
            summary="Read one record by its external_id",
        )
        @extend_schema(
            methods=["PUT"],
            parameters=[external_id_parameter],
            request=row_serializer,
            responses={200: serializer, 201: serializer, 400: FIELD_ERRORS, 403: FORBIDDEN},
            summary="Create or replace one record by its external_id (idempotent)",
        )
        @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH)
        def by_external_id(self, request, external_id=None):
            if request.method == "GET":
                return Response(self.get_serializer(self.get_object()).data)
            try:
                instance, created = sync_row_upsert(
                    kind=kind, external_id=external_id, data=request.data, user=request.user
                )
            except UpsertRejected as rejected:
                raise ValidationError(sync_errors_by_field(rejected.errors)) from None
            return Response(
                self.get_serializer(instance).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
            )

        @extend_schema(
            request=row_serializer(many=True),
            responses={
                200: result_serializer,
                400: OpenApiResponse(
                    errors_serializer,
                    description="Nothing was written: every bad row's index, field and message (index -1: the "
                    "whole request, e.g. malformed JSON or too many rows).",
                ),
                403: FORBIDDEN,
                413: OpenApiResponse(
                    ErrorDetailSerializer, description="The body is larger than SYNC_BULK_MAX_BODY_SIZE."
                ),
                415: OpenApiResponse(ErrorDetailSerializer, description="The body is not application/json."),
            },
            summary="Create or update many records by external_id, all or nothing",
        )
        @action(detail=False, methods=["post"], url_path="bulk", parser_classes=[BulkJSONParser])
        def bulk(self, request):
            try:
                rows = request.data
            except ParseError as error:  # malformed JSON: answered in the batch's error shape too
                return _errors_response([RowError(-1, ROW_FIELD, str(error.detail))])
            try:
                result = sync_rows_upsert(kind=kind, rows=rows, user=request.user)
            except UpsertRejected as rejected:
                return _errors_response(rejected.errors)
            return Response(result.as_dict())

    return SyncActionsMixin


def _errors_response(errors: list[RowError]) -> Response:
    return Response({"errors": [error.as_dict() for error in errors]}, status=status.HTTP_400_BAD_REQUEST)
