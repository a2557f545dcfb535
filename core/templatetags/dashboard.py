"""Number formatting for the pages: money, percentages, the attainment colour band and a run's counts."""

from decimal import Decimal

from django import template

register = template.Library()

# Attainment bands, also used by static/js/map.js for marker colours.
ATTAINMENT_GOOD = Decimal("1.0")
ATTAINMENT_WARN = Decimal("0.8")


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.0f}"


@register.filter
def count(value) -> str:
    """A whole number with thousands separators (a count of deals, accounts, claims)."""
    if value is None or value == "":
        return "—"
    return f"{int(value):,}"


@register.filter
def percent(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:,.1f} %"


@register.filter
def attainment_band(value) -> str:
    """Bootstrap text colour class for an attainment ratio (contrast-safe variants)."""
    if value is None:
        return "text-body-secondary"
    value = Decimal(value)
    if value >= ATTAINMENT_GOOD:
        return "text-success-emphasis"
    if value >= ATTAINMENT_WARN:
        return "text-warning-emphasis"
    return "text-danger-emphasis"


# What a run's counts mean, in the words of the page (AssignmentRun.counts, RecomputeRun.counts); a key not
# listed here shows as itself, spaced.
RUN_COUNT_LABELS = {
    "deep": "account territories",
    "opened": "opened",
    "closed": "closed",
    "deleted_same_day": "replaced the same day",
    "source_changed": "re-sourced",
    "overlaps": "overlaps",
    "deals": "deal territories",
    "deals_opened": "deal rows opened",
    "deals_closed": "deal rows closed",
    "deals_deleted_same_day": "deal rows replaced the same day",
    "planned": "planned account territories",
    "plan_accounts_changed": "accounts whose plan changed",
    "moved_accounts": "accounts moving",
    "rollup_rows": "rollup rows",
    "skipped_views": "views skipped (busy)",
    "busy_territories": "territories skipped (busy)",
    "deal_changes": "deal changes",
}


@register.filter
def run_counts(counts) -> list[tuple[str, str]]:
    """A run's counts as (label, value) pairs: numbers with thousands separators, lists joined."""
    pairs = []
    for key, value in (counts or {}).items():
        label = RUN_COUNT_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, int | float | Decimal):
            shown = f"{value:,}"
        elif isinstance(value, list | tuple):
            shown = ", ".join(str(item) for item in value) or "none"
        else:
            shown = str(value)
        pairs.append((label, shown))
    return pairs
