from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.audit import audit_record
from core.hooks import territories_dirty_on_commit
from core.models import AuditEntry
from core.roles import is_manager
from core.views_generic import ObjectListView, object_visible_or_404
from kpis.filtersets import KpiTargetFilterSet
from kpis.forms import KpiTargetForm
from kpis.models import KpiTarget
from kpis.tables import KpiTargetTable
from territories.models import Territory


class KpiTargetListView(ObjectListView):
    queryset = KpiTarget.objects.select_related("territory", "kpi")
    filterset_class = KpiTargetFilterSet
    table_class = KpiTargetTable
    title = "Targets"
    filter_labels = {"kpi": "KPI", "kpi_code": "KPI code", "period_from": "Periods from", "period_to": "Periods up to"}
    nav = "targets"
    export_name = "targets"
    empty_text = "No targets yet."
    empty_hint = "Set targets on a territory's page (KPIs vs targets) or through the API (/api/v1/targets/)."


@login_required
@require_POST
def target_set(request, territory_pk: int):
    """Create or replace a territory's target for a KPI and period; its rollups are marked for recompute."""
    if not is_manager(request.user):
        raise PermissionDenied("Only sales managers and admins set targets.")
    territory = object_visible_or_404(Territory.objects.all(), request.user, pk=territory_pk)
    form = KpiTargetForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            target, created = KpiTarget.objects.update_or_create(
                territory=territory,
                kpi=data["kpi"],
                period_type=data["period_type"],
                period_start=data["period_start"],
                defaults={"value": data["value"]},
            )
            audit_record(
                user=request.user,
                action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
                instance=target,
                changes={"value": str(data["value"])},
            )
            territories_dirty_on_commit([territory.pk])
        messages.success(request, f"Target set: {target.kpi.name} {target.period_start} = {data['value']:,}.")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, f"Target not set: {message}")
    period = urlencode({"period": f"{request.POST.get('period_type')}:{request.POST.get('period_start')}"})
    return redirect(f"{reverse('territories:detail', args=[territory.pk])}?{period}")
