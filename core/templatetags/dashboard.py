"""Number formatting for the pages: money, percentages and the attainment colour band."""

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
