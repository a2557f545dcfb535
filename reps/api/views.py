from core.api.viewsets import ScopedModelViewSet
from reps.api.serializers import RepSerializer
from reps.filtersets import RepFilterSet
from reps.models import Rep


class RepViewSet(ScopedModelViewSet):
    """Reps. A rep sees themself and the reps working their territories; only managers change reps."""

    queryset = Rep.objects.all()
    serializer_class = RepSerializer
    filterset_class = RepFilterSet
    search_fields = ("name", "email", "external_id", "home_city")
    ordering_fields = ("id", "name", "hire_date", "capacity", "seniority")
    ordering = ("name", "id")
