"""The filter backends of every API list: django-filter, skipped when the request filters nothing, and
ordering."""

import django_filters
from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.exceptions import ValidationError

# Query parameters that belong to pagination, search, ordering and format, never to a filterset.
NON_FILTER_PARAMETERS = frozenset({"page", "page_size", "cursor", "ordering", "search", "format"})


class FilterBackend(DjangoFilterBackend):
    """A filterset bound to no filter parameters filters nothing, yet building and validating its form
    costs a few milliseconds per request: plain list pages skip it."""

    def filter_queryset(self, request, queryset, view):
        if set(request.query_params).issubset(NON_FILTER_PARAMETERS):
            return queryset
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        # A boolean filter's widget reads any other word as "unknown" and the filter then does nothing:
        # `?no_campaign=maybe` would answer the whole list as if it had filtered it.
        unreadable = {
            name: ["Must be true or false."]
            for name, item in filterset.filters.items()
            if isinstance(item, django_filters.BooleanFilter)
            and request.query_params.get(name, "") != ""
            and filterset.form.cleaned_data.get(name) is None
        }
        if unreadable:
            raise ValidationError(unreadable)
        return filterset.qs


class SearchFilter(filters.SearchFilter):
    """DRF's search, documented only on views that declare search_fields (elsewhere it would do nothing).
    A search text DRF refuses (a NUL character) is a 400 naming the parameter, as every filter's is."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as error:
            raise ValidationError({self.search_param: error.detail}) from None

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)


class OrderingFilter(filters.OrderingFilter):
    """DRF's ordering, made total and strict:

    - an unknown field in `?ordering=` is a 400 naming `ordering` (DRF drops it silently);
    - the primary key ends every ordering (in the direction of the last term), so rows with equal values
      keep one order from page to page: pages neither repeat nor skip them, and a cursor has a unique
      position;
    - a view may spell a public field as the columns its index orders by (`ordering_aliases`): the KPI
      view's id is computed from its figures row and position, so `id` orders as (figure_id, position) —
      the same order, served by the figures' key instead of sorting the view."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            terms = [param.strip() for param in params.split(",")]
            valid = [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]
            unknown = [term for term in terms if term.removeprefix("-") not in valid]
            if unknown:
                choices = ", ".join(valid)
                raise ValidationError(
                    {self.ordering_param: [f"Unknown ordering field {unknown[0]!r}; choose from: {choices}."]}
                )
            ordering = terms
        else:
            ordering = list(self.get_default_ordering(view) or ())
        if not ordering:
            return ordering
        pk = queryset.model._meta.pk
        if not {term.removeprefix("-") for term in ordering} & {"pk", pk.name, pk.attname}:
            ordering.append("-pk" if ordering[-1].startswith("-") else "pk")
        aliases = getattr(view, "ordering_aliases", None) or {}
        expanded = []
        for term in ordering:
            sign, name = ("-", term[1:]) if term.startswith("-") else ("", term)
            name = pk.name if name == "pk" else name
            expanded += [f"{sign}{column}" for column in aliases.get(name, (name,))]
        return expanded
