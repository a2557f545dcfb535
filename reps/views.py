from core.views_generic import ObjectListView
from reps.filtersets import RepFilterSet
from reps.models import Rep
from reps.tables import RepTable


class RepListView(ObjectListView):
    queryset = Rep.objects.select_related("manager")
    filterset_class = RepFilterSet
    table_class = RepTable
    title = "Reps"
    nav = "reps"
    export_name = "reps"
    empty_text = "No reps yet."
    empty_hint = "Create a rep (a login plus home, skills and capacity) in the admin, then assign them to territories."
