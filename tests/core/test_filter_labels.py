"""Every filter of every filterset has a label: django-filter labels a method filter on no model field
"[invalid name]", which pages and the browsable API would show."""

import importlib

import django_filters
import pytest

APPS = ("accounts", "core", "kpis", "reps", "territories")


def _filtersets() -> list[type]:
    for app in APPS:
        try:
            importlib.import_module(f"{app}.filtersets")
        except ModuleNotFoundError:
            continue
    found, pending = [], [django_filters.FilterSet]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.split(".")[0] in APPS and subclass._meta.model is not None:
                found.append(subclass)
    return found


def test_the_project_has_filtersets_to_check():
    assert len(_filtersets()) >= 10


@pytest.mark.parametrize("filterset", _filtersets(), ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_every_filter_has_a_label(filterset, db):
    labels = {name: field.label for name, field in filterset().form.fields.items()}
    assert not [name for name, label in labels.items() if label == "[invalid name]"]
