"""The audit trail as sentences: what changed, from what to what (a rule's criteria read as rules do)."""

from django import template
from django.apps import apps

register = template.Library()


@register.filter
def audit_subject(entry) -> str:
    """'rule Île-de-France #1', 'territory fr-idf': the changed object by its kind's name."""
    try:
        kind = apps.get_model(entry.object_type)._meta.verbose_name
    except (LookupError, ValueError):
        kind = entry.object_type
    return f"{kind} {entry.object_repr}".strip()


@register.filter
def audit_change_lines(changes) -> list[str]:
    """One line per changed field: 'Priority: 0 → 10', 'Criteria: Country is one of FR → …'."""
    lines = []
    for field, change in (changes or {}).items():
        label = field.removesuffix("_id").replace("_", " ").capitalize()
        if isinstance(change, list | tuple) and len(change) == 2:
            before, after = (_value_text(field, value) for value in change)
            lines.append(f"{label}: {before} → {after}")
        else:
            lines.append(f"{label}: {_value_text(field, change)}")
    return lines


def _value_text(field: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field == "criteria" and isinstance(value, list):
        return "; ".join(_criterion_text(criterion) for criterion in value if isinstance(criterion, dict)) or "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _criterion_text(criterion: dict) -> str:
    from territories.choices import CriterionField, CriterionOperator

    field = dict(CriterionField.choices).get(criterion.get("field"), criterion.get("field"))
    operator = criterion.get("operator")
    if operator == CriterionOperator.RANGE:
        low = criterion.get("range_start") or criterion.get("min_value")
        high = criterion.get("range_end") or criterion.get("max_value")
        return f"{field} from {'—' if low in (None, '') else low} to {'—' if high in (None, '') else high}"
    return (
        f"{field} {dict(CriterionOperator.choices).get(operator, operator)} {', '.join(criterion.get('values') or [])}"
    )
