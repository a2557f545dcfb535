"""Checks a rule criterion before it is saved; used by RuleCriterion.clean (admin, forms) and the API.

Every error names the field it is about, so forms and the API show it in the right place.
"""

import re
from collections import Counter
from decimal import Decimal

from django.core.exceptions import ValidationError
from django_countries import countries

from accounts.choices import BusinessType, Industry
from territories.choices import (
    FIELDS_BY_KIND,
    OPERATORS_BY_FIELD,
    CriterionField,
    CriterionOperator,
    TerritoryKind,
    TerritoryModelState,
)

_KNOWN_VALUES = {
    CriterionField.BUSINESS_TYPE: {value.lower() for value in BusinessType.values},
    CriterionField.INDUSTRY: {value.lower() for value in Industry.values},
}

# Postal codes are letters, digits, spaces and hyphens the world over; anything else is a typo.
_POSTAL_CODE = re.compile(r"[A-Za-z0-9 -]+")
POSTAL_CODE_CHARACTERS = "Postal codes hold only letters, digits, spaces and hyphens"


def _postal_shape(code: str) -> str:
    """9 for a digit, A for a letter, separators as they are: 40000 → 99999, SW1A → AA9A."""
    return "".join("9" if c.isdigit() else "A" if c.isalpha() else c for c in code)


def criteria_duplicate_fields(fields: list[str]) -> list[str]:
    """The fields that more than one criterion of a rule uses, in order: one criterion per field keeps
    "all criteria" a plain AND of distinct fields (and the unique constraint would refuse the save)."""
    return [field for field, count in Counter(fields).items() if count > 1]


def criteria_duplicate_message(field: str) -> str:
    return f"Only one criterion per field in a rule: {field} appears twice."


DUPLICATE_FIELD_MESSAGE = "This rule already has a criterion on this field; put all values in it."


def rule_criterion_validate(
    *,
    territory_kind: str | None,
    field: str,
    operator: str,
    values: list[str] | None = None,
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
    range_start: str = "",
    range_end: str = "",
    rule_id: int | None = None,
    criterion_id: int | None = None,
) -> None:
    """Raise ValidationError({field_name: message}) when the criterion cannot be saved as given."""
    values = [value.strip() for value in (values or [])]
    range_start = (range_start or "").strip()
    range_end = (range_end or "").strip()

    if field not in CriterionField.values:
        raise ValidationError({"field": f"Unknown criterion field “{field}”."})
    if territory_kind is not None and field not in FIELDS_BY_KIND[TerritoryKind(territory_kind)]:
        kind_label = TerritoryKind(territory_kind).label
        allowed = ", ".join(sorted(CriterionField(f).label for f in FIELDS_BY_KIND[TerritoryKind(territory_kind)]))
        allowed = allowed or "named accounts only"
        message = f"A {kind_label.lower()} territory cannot use {CriterionField(field).label}; use: {allowed}."
        raise ValidationError({"field": message})
    if operator not in OPERATORS_BY_FIELD[CriterionField(field)]:
        allowed = ", ".join(CriterionOperator(o).label for o in sorted(OPERATORS_BY_FIELD[CriterionField(field)]))
        raise ValidationError({"operator": f"{CriterionField(field).label} takes only: {allowed}."})

    if operator in (CriterionOperator.IN, CriterionOperator.PREFIX):
        if not values or any(not value for value in values):
            raise ValidationError({"values": "Give at least one value, none of them empty."})
        if field == CriterionField.COUNTRY:
            unknown = [value for value in values if value.upper() not in dict(countries)]
            if unknown:
                raise ValidationError({"values": f"Unknown country code: {', '.join(unknown)}."})
        known = _KNOWN_VALUES.get(CriterionField(field))
        if known is not None:
            unknown = [value for value in values if value.lower() not in known]
            if unknown:
                label = CriterionField(field).label.lower()
                raise ValidationError({"values": f"Unknown {label}: {', '.join(unknown)}."})
        if field == CriterionField.POSTAL_CODE:
            malformed = [value for value in values if not _POSTAL_CODE.fullmatch(value)]
            if malformed:
                raise ValidationError({"values": f"{POSTAL_CODE_CHARACTERS}: {', '.join(malformed)}."})
    elif field == CriterionField.POSTAL_CODE:
        if not range_start:
            raise ValidationError({"range_start": "A postal code range needs a first code."})
        if not range_end:
            raise ValidationError({"range_end": "A postal code range needs a last code."})
        for name, code in (("range_start", range_start), ("range_end", range_end)):
            if not _POSTAL_CODE.fullmatch(code):
                raise ValidationError({name: f"{POSTAL_CODE_CHARACTERS}."})
        if len(range_start) != len(range_end):
            raise ValidationError({"range_end": "The first and last postal codes must have the same length."})
        # Codes are compared as strings: 40000–5x999 would take in 4a000 or 5-000, which no real code
        # between them looks like. Same shape, so the range holds codes of one format.
        if _postal_shape(range_start) != _postal_shape(range_end):
            raise ValidationError(
                {
                    "range_end": (
                        "The last postal code must have the shape of the first: a digit where it has a digit, "
                        "a letter where it has a letter, the same spaces and hyphens."
                    )
                }
            )
        if range_start.lower() > range_end.lower():
            raise ValidationError({"range_start": "The first postal code comes after the last one."})
    else:
        if min_value is None and max_value is None:
            raise ValidationError({"min_value": "A range needs a minimum, a maximum or both."})
        if min_value is not None and min_value < 0:
            raise ValidationError({"min_value": "The minimum cannot be negative."})
        if max_value is not None and max_value < 0:
            raise ValidationError({"max_value": "The maximum cannot be negative."})
        if min_value is not None and max_value is not None and min_value > max_value:
            raise ValidationError({"min_value": "The minimum is above the maximum."})

    if rule_id is not None:
        from territories.models import RuleCriterion

        duplicates = RuleCriterion.objects.filter(rule_id=rule_id, field=field)
        if criterion_id is not None:
            duplicates = duplicates.exclude(pk=criterion_id)
        if duplicates.exists():
            raise ValidationError({"field": DUPLICATE_FIELD_MESSAGE})


def territory_kind_validate(*, territory_id: int | None, kind: str) -> None:
    """Raise ValidationError({"kind": …}) when the territory's existing criteria do not fit the new kind
    (the engine would silently ignore them, so the territory's rules would stop matching), or when it
    names accounts and would no longer be account-based."""
    if territory_id is None or kind not in TerritoryKind.values:
        return
    from territories.models import NamedAccount, RuleCriterion

    if kind != TerritoryKind.ACCOUNT and NamedAccount.objects.filter(territory_id=territory_id).exists():
        message = "It names accounts, which only an account-based territory does; remove them first."
        raise ValidationError({"kind": message})

    criteria = RuleCriterion.objects.filter(rule__territory_id=territory_id)
    if problem := _criteria_misfit(criteria, kind, what="Its rules use"):
        raise ValidationError({"kind": problem})


def rule_territory_validate(*, rule_id: int | None, territory) -> None:
    """Raise ValidationError({"territory": …}) when a rule moved to `territory` has stored criteria its kind
    cannot use (creating such a rule is refused, so moving one there is too)."""
    if rule_id is None or territory is None:
        return
    from territories.models import RuleCriterion

    criteria = RuleCriterion.objects.filter(rule_id=rule_id)
    if problem := _criteria_misfit(criteria, territory.kind, what="Its criteria use"):
        raise ValidationError({"territory": problem})


def _criteria_misfit(criteria, kind: str, *, what: str) -> str | None:
    """Why stored criteria cannot serve a territory of this kind (their fields it cannot use), or None."""
    misfits = sorted(set(criteria.values_list("field", flat=True)) - FIELDS_BY_KIND[TerritoryKind(kind)])
    if not misfits:
        return None
    labels = ", ".join(CriterionField(field).label for field in misfits)
    return (
        f"{what} {labels}, which a {TerritoryKind(kind).label.lower()} territory cannot use; "
        "change or remove those criteria first."
    )


def named_account_territory_validate(*, territory) -> None:
    """Raise ValidationError({"territory": …}) unless the territory is account-based: only those match
    their named accounts (docs/ASSIGNMENT.md); elsewhere a name would pin the account like an override."""
    if territory is not None and territory.kind != TerritoryKind.ACCOUNT:
        raise ValidationError({"territory": "Only account-based territories name accounts."})


SCOPED_TOP_LEVEL_MESSAGE = (
    "Choose a parent within your territories: a manager limited to some territories cannot make a top-level territory."
)
SCOPED_WHOLE_MODEL_MESSAGE = (
    "A manager limited to some territories cannot create, change, activate or copy a whole territory model; "
    "ask a manager of the whole alignment."
)


def scoped_manager(user) -> bool:
    """A signed-in user whose access is limited to some territories (core.access): a scoped manager."""
    from core.access import access_scope

    return user is not None and getattr(user, "is_authenticated", False) and not access_scope(user).everything


def territory_parent_scope_problem(*, user, parent, territory=None) -> str | None:
    """What a scoped manager creates or moves stays inside their territories: no new top-level territory
    (one that already is top-level, their scope's root, may still be edited)."""
    already_top_level = territory is not None and territory.pk is not None and territory.parent_id is None
    if parent is None and not already_top_level and scoped_manager(user):
        return SCOPED_TOP_LEVEL_MESSAGE
    return None


SCOPED_LIVE_ROOT_MESSAGE = (
    "This territory is at the top of your territories: in the live alignment its rules and priority decide "
    "accounts outside them too. Change them in a plan, for a manager of the whole alignment to activate."
)


def scoped_live_root_problem(*, user, territory) -> str | None:
    """A change to territory T's rules or priority reaches only the accounts in T's parent (children narrow
    their parent) and T's siblings: inside a scoped manager's territories when T's parent is theirs. At the
    top of their scope, in the live alignment, it could take accounts from other managers' territories, so
    there it is refused; in a plan it is shown in the diff before someone activates the plan."""
    if territory is None or territory.pk is None or not scoped_manager(user):
        return None
    if territory.territory_model.state != TerritoryModelState.ACTIVE:
        return None
    from territories.models import Territory

    parent_theirs = (
        territory.parent_id is not None and Territory.objects.visible_to(user).filter(pk=territory.parent_id).exists()
    )
    return None if parent_theirs else SCOPED_LIVE_ROOT_MESSAGE
