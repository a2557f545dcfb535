"""Turn database refusals into 4xx answers: a request never gets a 500 for bad data."""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback


def django_errors_as_dict(error: DjangoValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, limit: int):
        super().__init__(f"The request body is larger than the {limit:,} bytes this endpoint accepts.")


class Conflict(APIException):
    """The request is sound, but the record's state refuses it (say why and what to do instead)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record's current state does not allow this."
    default_code = "conflict"


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        # Django would answer its HTML 400 page: an API client gets JSON naming the limit.
        exc = BodyTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(django_errors_as_dict(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (ProtectedError, RestrictedError)):
        set_rollback()
        return Response(
            {"detail": "Other records still refer to this one, so it cannot be deleted."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, IntegrityError):
        set_rollback()
        return Response(
            {api_settings.NON_FIELD_ERRORS_KEY: [f"The database refused the change: {str(exc).splitlines()[0]}"]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return exception_handler(exc, context)
