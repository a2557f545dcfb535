"""The filter backends of every API list: django-filter, skipped when the request filters nothing, and
ordering."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters

# Query parameters that belong to pagination, search, ordering and format, never to a filterset.
NON_FILTER_PARAMETERS = frozenset({"page", "page_size", "cursor", "ordering", "search", "format"})


class FilterBackend(DjangoFilterBackend):
    """A filterset bound to no filter parameters filters nothing, yet building and validating its form
    costs a few milliseconds per request: plain list pages skip it."""

    def filter_queryset(self, request, queryset, view):
        if set(request.query_params).issubset(NON_FILTER_PARAMETERS):
            return queryset
        return super().filter_queryset(request, queryset, view)


class OrderingFilter(filters.OrderingFilter):
    """DRF's ordering, where a view may spell a public field as the columns its index orders by
    (`ordering_aliases`): the KPI view's id is computed from its figures row and position, so `id` orders
    as (figure_id, position) — the same order, served by the figures' key instead of sorting the view."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        aliases = getattr(view, "ordering_aliases", None)
        if not ordering or not aliases:
            return ordering
        expanded = []
        for term in ordering:
            sign, name = ("-", term[1:]) if term.startswith("-") else ("", term)
            expanded += [f"{sign}{column}" for column in aliases.get(name, (name,))]
        return expanded
