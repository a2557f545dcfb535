"""Shared assertions for model guard tests: the model refuses a value, and so does the database."""

from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction


def assert_invalid(obj, field: str) -> ValidationError:
    """full_clean() refuses obj with an error named after field."""
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    assert field in caught.value.message_dict, caught.value.message_dict
    return caught.value


@contextmanager
def refused_by_database():
    """The block's write breaks a database constraint (and is rolled back on its own savepoint)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        yield
