"""The filter backend of every API list: django-filter, skipped when the request filters nothing."""

from django_filters.rest_framework import DjangoFilterBackend

# Query parameters that belong to pagination, search, ordering and format, never to a filterset.
NON_FILTER_PARAMETERS = frozenset({"page", "page_size", "cursor", "ordering", "search", "format"})


class FilterBackend(DjangoFilterBackend):
    """A filterset bound to no filter parameters filters nothing, yet building and validating its form
    costs a few milliseconds per request: plain list pages skip it."""

    def filter_queryset(self, request, queryset, view):
        if set(request.query_params).issubset(NON_FILTER_PARAMETERS):
            return queryset
        return super().filter_queryset(request, queryset, view)
