import json
import logging
import re
from dataclasses import asdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Window
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from accounts.models import Account
from core import dashboard_selectors as dash
from core.audit import audit_changes, audit_record, audit_snapshot
from core.data_version import cached_figures, data_version
from core.editor_selectors import (
    PreviewCriterion,
    criterion_accounts_count,
    parent_answer_known,
    rule_accounts_count,
)
from core.hooks import accounts_changed_on_commit
from core.models import AuditEntry
from core.page_cache import cached_html, page_cached
from core.roles import is_manager
from core.views_generic import ObjectListView, object_visible_or_404
from core.widgets import is_id
from kpis.choices import KpiCode, PeriodType, RollupView
from kpis.forms import KpiTargetForm
from kpis.selectors import (
    campaign_revenue,
    kpi_actual_vs_target,
    kpi_forecast,
    kpi_trend,
    pipeline_by_stage,
    revenue_by_product_line,
    rollups_staleness,
)
from territories.choices import RunStatus, TerritoryKind, TerritoryModelState
from territories.filtersets import TerritoryFilterSet, TerritoryModelFilterSet
from territories.forms import (
    CriterionForm,
    CriterionFormSet,
    CriterionPreviewForm,
    NamedAccountForm,
    RepAssignmentForm,
    RuleForm,
    TerritoryForm,
    TerritoryModelActivateForm,
    TerritoryModelCopyForm,
    TerritoryOverrideForm,
)
from territories.models import (
    AssignmentRun,
    NamedAccount,
    RepAssignment,
    RuleCriterion,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)
from territories.selectors import coverage_overlaps, coverage_report, plan_diff_report
from territories.services import (
    assignment_run_start,
    territory_model_activation_start,
    territory_model_copy,
    territory_model_delete,
)
from territories.tables import MembershipTable, RepAssignmentTable, TerritoryModelTable, TerritoryTable
from territories.validation import scoped_live_root_problem, scoped_manager

logger = logging.getLogger(__name__)

HISTORY_SHOWN = 25
PINS_SHOWN = 100  # overrides and named accounts listed on the territory page


class TerritoryListView(ObjectListView):
    queryset = Territory.objects.select_related("parent", "territory_model")
    filterset_class = TerritoryFilterSet
    table_class = TerritoryTable
    title = "Territories"
    filter_labels = {"within": "Within (territory and its subtree)", "is_root": "Top-level only"}
    nav = "territories"
    export_name = "territories"
    empty_text = "No territories yet."
    empty_hint = "Create a territory model and its territories with rules in the admin, then run the assignment."


def _kpi_rows(*, territory: Territory, period: dash.Period) -> list[dict]:
    """As-of and restated figures side by side; `differs` marks the KPIs where the two views disagree."""
    as_of = kpi_actual_vs_target(
        territory=territory, period_type=period.period_type, period_start=period.start, view=RollupView.AS_OF
    )
    restated = {
        row.kpi.pk: row
        for row in kpi_actual_vs_target(
            territory=territory, period_type=period.period_type, period_start=period.start, view=RollupView.RESTATED
        )
    }
    rows = []
    for row in as_of:
        other = restated.get(row.kpi.pk)
        rows.append({"as_of": row, "restated": other, "differs": bool(other) and other.actual != row.actual})
    return rows


CHILDREN_SHOWN = 30


def _territory_figures(territory: Territory, period: dash.Period) -> dict:
    """The territory page's figures, all from rollups and targets: cached under the data version. They are
    the same for everyone who may see the territory, so the key is the territory and period."""
    trend_as_of = kpi_trend(territory=territory, kpi_code=KpiCode.REVENUE, view=RollupView.AS_OF)
    trend_restated = kpi_trend(territory=territory, kpi_code=KpiCode.REVENUE, view=RollupView.RESTATED)
    datasets = [{"label": "Revenue (as of)", "data": [float(v or 0) for _, v in trend_as_of]}]
    if any(a != r for (_, a), (_, r) in zip(trend_as_of, trend_restated, strict=True)):
        datasets.append(
            {"label": "Revenue (restated)", "data": [float(v or 0) for _, v in trend_restated], "dashed": True}
        )
    kpi_rows = _kpi_rows(territory=territory, period=period)
    chosen = {"territory": territory, "period_type": period.period_type, "period_start": period.start}
    campaigns = campaign_revenue(**chosen)
    stages = pipeline_by_stage(**chosen)
    any_restated_difference = any(row["differs"] for row in kpi_rows)
    kpi_table = render_to_string(
        "territories/partials/kpi_table.html",
        {"kpi_rows": kpi_rows, "any_restated_difference": any_restated_difference},
    )
    return {
        "kpi_rows": kpi_rows,
        "kpi_table_html": mark_safe(kpi_table),  # noqa: S308 (rendered by our template, escaped there)
        "any_restated_difference": any_restated_difference,
        "forecast": kpi_forecast(territory=territory, period_type=PeriodType.MONTH),
        "campaigns": list(campaigns[:10]),
        "product_lines": revenue_by_product_line(**chosen)[:10],
        "stages": stages,
        "staleness": rollups_staleness(territory=territory),
        "chart": {
            "labels": [start.strftime("%b %Y") for start, _ in trend_as_of],
            "datasets": datasets,
            "stages": {
                "labels": [row["label"] for row in stages],
                "amount": [float(row["amount"]) for row in stages],
                "weighted": [float(row["weighted"]) for row in stages],
            },
        },
    }


@login_required
@page_cached
def territory_detail(request, pk: int):
    """Cached whole per user and URL (core.page_cache); the figures also per territory, for everyone."""
    version = data_version()  # first: the cached figures are then at least as new as it
    territory = object_visible_or_404(
        Territory.objects.select_related("territory_model", "parent"), request.user, pk=pk
    )
    period = dash.period_parse(value=request.GET.get("period"))
    rules = TerritoryRule.objects.filter(territory=territory).prefetch_related("criteria")
    accounts = MembershipTable(
        # By account id by default: the first page is then found without sorting every account of a big
        # subtree by name (a click on a header still sorts by that column).
        dash.territory_accounts(territory=territory).select_related("account", "territory").order_by("account_id"),
        prefix="accounts-",
    )
    RequestConfig(request, paginate={"per_page": 25, "paginator_class": LazyPaginator}).configure(accounts)
    assignments = RepAssignmentTable(
        RepAssignment.objects.visible_to(request.user).filter(territory=territory).select_related("rep"),
        orderable=False,
    )
    figures = cached_figures(
        key=f"territory:{territory.pk}:{period.value}",
        version=version,
        build=lambda: _territory_figures(territory, period),
    )
    # The first children and, in the same query (a window counts before the LIMIT), how many there are.
    children = list(
        Territory.objects.visible_to(request.user)
        .filter(parent=territory)
        .order_by("code")
        .only("id", "code", "name")
        .annotate(total=Window(Count("id")))[:CHILDREN_SHOWN]
    )
    manager = is_manager(request.user)
    overrides = list(
        TerritoryOverride.objects.visible_to(request.user)
        .filter(territory=territory)
        .select_related("account", "created_by")
        .order_by("-created_at", "-id")[: PINS_SHOWN + 1]
    )
    named_accounts = []
    if territory.kind == TerritoryKind.ACCOUNT:
        named_accounts = list(
            NamedAccount.objects.visible_to(request.user)
            .filter(territory=territory)
            .select_related("account")
            .order_by("account__name", "id")[: PINS_SHOWN + 1]
        )
    context = {
        "nav": "territories",
        "territory": territory,
        "period": period,
        "periods": dash.period_choices(),
        "rules": rules,
        "accounts": accounts,
        "assignments": assignments,
        "children": children,
        "more_children": bool(children) and children[0].total > len(children),
        "children_count": children[0].total if children else 0,
        "detail_prefix": reverse("territories:list"),
        "history": AuditEntry.objects.visible_to(request.user)
        .filter(territory_code=territory.code)
        .select_related("user")[:HISTORY_SHOWN],
        **figures,
        "show_history": manager,
        "can_edit": manager and territory.territory_model.state != TerritoryModelState.ARCHIVED,
        "overrides": overrides[:PINS_SHOWN],
        "more_overrides": len(overrides) > PINS_SHOWN,
        "named_accounts": named_accounts[:PINS_SHOWN],
        "more_named_accounts": len(named_accounts) > PINS_SHOWN,
        "override_form": TerritoryOverrideForm(user=request.user, prefix="override") if manager else None,
        "named_account_form": NamedAccountForm(user=request.user, prefix="named") if manager else None,
        "target_form": KpiTargetForm(initial={"period_type": period.period_type, "period_start": period.start}),
        "assignment_form": RepAssignmentForm(user=request.user),
    }
    return render(request, "territories/detail.html", context)


def _chosen_model(request) -> TerritoryModel | None:
    models = TerritoryModel.objects.visible_to(request.user)
    chosen = request.GET.get("model", "")
    if is_id(chosen):
        found = models.filter(pk=chosen).first()
        if found:
            return found
    return dash.active_territory_model()


@login_required
def territory_tree(request):
    """The hierarchy of the chosen model (default: the active one): the highest visible territories and
    their children; ?parent= answers one deeper level, which the page loads (htmx) when a node opens."""
    model = _chosen_model(request)
    kinds = dict(TerritoryKind.choices)
    # One reverse() for every link: the detail URL is this prefix plus the id.
    detail_prefix = reverse("territories:list")
    if is_id(request.GET.get("parent", "")):
        parent = Territory.objects.visible_to(request.user).filter(pk=request.GET["parent"]).first()
        if parent is None:
            raise Http404("Not found")
        model = parent.territory_model
        html = cached_html(
            key=f"tree:{request.user.pk}:{parent.pk}",
            template="territories/partials/tree_nodes.html",
            context=lambda: {
                "nodes": dash.tree_level(user=request.user, model=model, parent_id=parent.pk),
                "model": model,
                "kinds": kinds,
                "detail_prefix": detail_prefix,
            },
        )
        return HttpResponse(html)

    def body_context() -> dict:
        nodes = dash.tree_top_levels(user=request.user, model=model) if model is not None else []
        total = Territory.objects.visible_to(request.user).filter(territory_model=model).count() if model else 0
        return {"model": model, "nodes": nodes, "total": total, "kinds": kinds, "detail_prefix": detail_prefix}

    context = {
        "nav": "tree",
        "model": model,
        "models": TerritoryModel.objects.visible_to(request.user).order_by("-state", "name"),
        # The tree changes only with the territories: cached per user and model (core.data_version).
        "body_html": cached_html(
            key=f"tree:{request.user.pk}:model:{model.pk if model else 0}",
            template="territories/partials/tree_body.html",
            context=body_context,
        ),
    }
    return render(request, "territories/tree.html", context)


@login_required
def territory_map(request):
    return render(
        request,
        "territories/map.html",
        {
            "nav": "map",
            "period": dash.period_parse(value=request.GET.get("period")),
            "periods": dash.period_choices(),
            "map_config": {
                "tile_url": settings.MAP_TILE_URL,
                "attribution": settings.MAP_TILE_ATTRIBUTION,
                "data_url": reverse("territories:map-data"),
                # Without tiles (no internet), the countries' outlines, vendored, give the map its bearings.
                "outline_url": static("vendor/world-atlas/countries-50m.json"),
            },
        },
    )


@login_required
def territory_map_data(request):
    """Located accounts of the visible geographic territories of the active model, coloured by attainment.
    The JSON is cached per user and period under the data version (core.data_version)."""
    period = dash.period_parse(value=request.GET.get("period"))
    version = data_version()

    def body() -> bytes:
        model = dash.active_territory_model()
        territories = Territory.objects.visible_to(request.user).filter(kind=TerritoryKind.GEOGRAPHIC)
        territories = territories.filter(territory_model=model) if model else territories.none()
        limit = dash.MAP_MARKER_LIMIT
        accounts = dash.map_accounts(user=request.user, territories=territories, period=period, limit=limit + 1)
        payload = {"period": period.label, "accounts": accounts[:limit], "truncated": len(accounts) > limit}
        return json.dumps({**payload, "limit": limit}, separators=(",", ":")).encode()

    content = cached_figures(key=f"map:{request.user.pk}:{period.value}", version=version, build=body)
    return HttpResponse(content, content_type="application/json")


# --- Planning and editing (managers) -------------------------------------------------------------


def _require_manager(request) -> None:
    if not is_manager(request.user):
        raise PermissionDenied("Only sales managers and admins change the alignment.")


def _require_editable(model: TerritoryModel) -> None:
    """Active and planning models are edited (as create always allowed); an archived one is kept as it was."""
    if model.state == TerritoryModelState.ARCHIVED:
        raise PermissionDenied("An archived territory model cannot be changed; copy it as a plan instead.")


def _live_root_refused(request, territory: Territory):
    """A scoped manager's rule change at the top of their territories in the live alignment
    (validation.scoped_live_root_problem): refused with its message, back on the territory's page."""
    if problem := scoped_live_root_problem(user=request.user, territory=territory):
        messages.error(request, problem)
        return redirect("territories:detail", pk=territory.pk)
    return None


def _deleted(instance) -> dict:
    """The audit changes of a deletion, as the API records them: every field from its value to None."""
    return {name: [value, None] for name, value in audit_snapshot(instance).items()}


class TerritoryModelListView(ObjectListView):
    queryset = TerritoryModel.objects.all()
    filterset_class = TerritoryModelFilterSet
    table_class = TerritoryModelTable
    title = "Territory models"
    nav = "models"  # no navigation item is the models' (the tree links to them): none is marked active
    export_name = "territory-models"
    empty_text = "No territory models yet."
    empty_hint = "Create a model in the admin; copy the active one here to plan changes."


DIFF_TERRITORIES_SHOWN = 100
DIFF_MOVES_SHOWN = 100


def _plan_diff_context(model: TerritoryModel, active: TerritoryModel | None, user) -> dict | None:
    """The plan's diff as the page shows it to this user (the first moves and changed territories)."""
    if model.state != TerritoryModelState.PLANNING or active is None:
        return None
    report = plan_diff_report(plan=model, user=user, active=active)
    if not report["stored"]:
        return report if report["pending"] else None
    changed = [t for t in report["territories"] if t["accounts_before"] != t["accounts_after"]]
    moves = report["moves"][:DIFF_MOVES_SHOWN]
    # The accounts by name (one query for the moves shown), not by id.
    names = dict(Account.objects.filter(pk__in=[m["account_id"] for m in moves]).values_list("pk", "name"))
    return report | {
        "moves": [move | {"account_name": names.get(move["account_id"], "")} for move in moves],
        "territories": changed[:DIFF_TERRITORIES_SHOWN],
        "changed": len(changed),
    }


@login_required
def territory_model_detail(request, pk: int):
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=pk)
    active = dash.active_territory_model()
    diff = _plan_diff_context(model, active, request.user)
    runs = list(AssignmentRun.objects.visible_to(request.user).filter(territory_model=model)[:5])
    for run in runs:
        run.kind = "assignment"
    context = {
        "nav": "models",  # as the models list: not the tree
        "model": model,
        "active": active,
        "diff": diff,
        "runs": runs,
        "territory_count": Territory.objects.visible_to(request.user).filter(territory_model=model).count(),
        "copy_form": TerritoryModelCopyForm(initial={"code": f"{model.code}-plan", "name": f"{model.name} (plan)"}),
        "whole_alignment": not scoped_manager(request.user),  # copies and activations: territory_model_copy
        "activate_form": TerritoryModelActivateForm(),
        # The activation queued or running (any model's: one at a time), instead of a second form.
        "activation_pending": AssignmentRun.objects.filter(
            activation=True, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        )
        .select_related("territory_model")
        .first(),
    }
    return render(request, "territories/model_detail.html", context)


COVERAGE_ROWS_SHOWN = 100


@login_required
def territory_model_coverage(request, pk: int):
    """Coverage of a model within the manager's scope: the API's report, with the rows behind it."""
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=pk)
    report = coverage_report(model=model, user=request.user)
    visible = Territory.objects.visible_to(request.user).filter(territory_model=model)
    overlaps = coverage_overlaps(model=model).filter(winner__in=visible).order_by("account__name", "winner__code")
    ids = dict(visible.values_list("code", "id"))
    context = {
        "nav": "models",
        "model": model,
        "report": report,
        "gaps": [
            (kind, TerritoryKind(kind).label, count) for kind, count in report["accounts_without_territory"].items()
        ],
        "unplaced": [(code, ids[code], count) for code, count in report["accounts_unplaced"].items()],
        "without_accounts": [(code, ids[code]) for code in report["territories_without_accounts"]],
        "without_owner": [(code, ids[code]) for code in report["territories_without_owner"]],
        "overlaps": overlaps.select_related("account", "winner", "loser")[:COVERAGE_ROWS_SHOWN],
        "visible_ids": set(ids.values()),  # a losing sibling outside the user's territories is not named
        "shown": COVERAGE_ROWS_SHOWN,
    }
    return render(request, "territories/model_coverage.html", context)


@login_required
def territory_model_diff_section(request, pk: int):
    """The plan's diff section alone: the page polls it while a newer diff is being computed."""
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=pk)
    active = dash.active_territory_model()
    context = {"model": model, "active": active, "diff": _plan_diff_context(model, active, request.user)}
    return render(request, "territories/partials/model_diff.html", context)


@login_required
@require_POST
def territory_model_run(request, pk: int):
    """Queue an assignment run; htmx gets the run's progress partial, which polls until it finishes."""
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=pk)
    dry_run = bool(request.POST.get("dry_run"))
    if model.state == TerritoryModelState.ARCHIVED:
        messages.error(request, "An archived territory model is history: it cannot be run.")
        return redirect("territories:model-detail", pk=model.pk)
    try:
        with transaction.atomic():
            run = assignment_run_start(territory_model=model, user=request.user, dry_run=dry_run)
    except ValidationError as error:
        if request.htmx:
            return render(request, "core/partials/refusal.html", {"messages_shown": error.messages})
        for message in error.messages:
            messages.error(request, message)
        return redirect("territories:model-detail", pk=model.pk)
    except Exception:
        # Only without a broker (tasks run eagerly on commit): the run itself recorded the failure.
        logger.exception("assignment run of %s failed in-process", model.code)
        run = AssignmentRun.objects.filter(territory_model=model).order_by("-created_at").first()
    run.kind = "assignment"
    if request.htmx:
        return render(request, "core/partials/run.html", {"run": run})
    messages.info(request, "Assignment run queued.")
    return redirect("territories:model-detail", pk=model.pk)


@login_required
@require_POST
def territory_model_activate_view(request, pk: int):
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=pk)
    form = TerritoryModelActivateForm(request.POST)
    if form.is_valid():
        try:
            run = territory_model_activation_start(
                model=model, effective_from=form.cleaned_data["effective_from"], user=request.user
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                f"Activation of {model.name} from {run.effective_from:%Y-%m-%d} queued: its progress shows below.",
            )
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("territories:model-detail", pk=model.pk)


@login_required
@require_POST
def territory_model_delete_view(request, pk: int):
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=pk)
    try:
        with transaction.atomic():
            audit_record(
                user=request.user, action=AuditEntry.Action.DELETE, instance=model, changes={"code": [model.code, None]}
            )
            territory_model_delete(model=model, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("territories:model-detail", pk=model.pk)
    messages.success(request, f"Deleted the plan {model.name}.")
    return redirect("territories:models")


@login_required
@require_POST
def territory_model_copy_view(request, pk: int):
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=pk)
    form = TerritoryModelCopyForm(request.POST)
    if form.is_valid():
        try:
            copy = territory_model_copy(
                source=model, code=form.cleaned_data["code"], name=form.cleaned_data["name"], user=request.user
            )
        except ValidationError as error:
            _errors_flash(request, form, error.message_dict, prefix="Plan not copied: ")
        else:
            audit_record(
                user=request.user, action=AuditEntry.Action.CREATE, instance=copy, changes={"copied_from": model.code}
            )
            messages.success(request, f"Planning copy {copy.name} created. Edit it, run it, compare, then activate.")
            return redirect("territories:model-detail", pk=copy.pk)
    else:
        _errors_flash(request, form, form.errors, prefix="Plan not copied: ")
    return redirect("territories:model-detail", pk=model.pk)


def _errors_flash(request, form, errors: dict, *, prefix: str) -> None:
    """Errors of a form posted from another page, as messages naming their field (the page is redirected to)."""
    for field, field_errors in errors.items():
        label = form[field].label if field in form.fields else ""
        for message in field_errors:
            messages.error(request, f"{prefix}{label + ': ' if label else ''}{message}")


RULE_SECTION_FIELDS = ("name", *(name for name in CriterionForm.Meta.fields if name != "operator"))


@login_required
def territory_edit(request, model_pk: int, pk: int | None = None):
    """Create (no pk) or edit a territory of a model, with one rule criterion and its live preview."""
    _require_manager(request)
    model = object_visible_or_404(TerritoryModel.objects.all(), request.user, pk=model_pk)
    territory = None
    if pk is not None:
        territory = object_visible_or_404(Territory.objects.filter(territory_model=model), request.user, pk=pk)
    _require_editable(model)
    # Before the form: validating a ModelForm writes the posted values onto its instance.
    before = audit_snapshot(territory) if territory else None
    form = TerritoryForm(request.POST or None, instance=territory, territory_model=model, user=request.user)
    # The rule section is optional: bound (and so validated, its errors shown) only when the manager filled
    # any of it; the operator always posts its default, so it does not count.
    wants_rule = request.method == "POST" and any(
        request.POST.get(f"rule-{name}", "").strip() for name in RULE_SECTION_FIELDS
    )
    criterion_form = CriterionForm(request.POST if wants_rule else None, prefix="rule")
    valid = request.method == "POST" and form.is_valid() and (not wants_rule or criterion_form.is_valid())
    if valid and wants_rule and (problem := scoped_live_root_problem(user=request.user, territory=territory)):
        form.add_error(None, problem)
        valid = False
    if valid:
        try:
            with transaction.atomic():
                saved = form.save()
                if wants_rule:
                    rule = TerritoryRule.objects.create(territory=saved, name=request.POST.get("rule-name", "")[:200])
                    criterion = criterion_form.save(commit=False)
                    criterion.rule = rule
                    criterion.full_clean()
                    criterion.save()
                    audit_record(user=request.user, action=AuditEntry.Action.CREATE, instance=criterion)
                if before is None:
                    audit_record(user=request.user, action=AuditEntry.Action.CREATE, instance=saved)
                else:
                    audit_record(
                        user=request.user,
                        action=AuditEntry.Action.UPDATE,
                        instance=saved,
                        changes=audit_changes(before, audit_snapshot(saved)),
                    )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                target_form = criterion_form if field in criterion_form.fields else form
                target_form.add_error(field if field in target_form.fields else None, errors)
        else:
            messages.success(request, f"Saved {saved.name}. Run the assignment of {model.name} to apply the rules.")
            return redirect("territories:detail", pk=saved.pk)
    context = {
        "nav": "territories",  # editing a territory, not browsing the tree
        "model": model,
        "territory": territory,
        "form": form,
        "criterion_form": criterion_form,
        "rule_name": request.POST.get("rule-name", ""),
        "rules": TerritoryRule.objects.filter(territory=territory).prefetch_related("criteria") if territory else [],
    }
    return render(request, "territories/edit.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def rule_preview(request):
    """htmx: how many accounts the criterion being typed matches, on its own. ?prefix= names the form
    (the create page's "rule", a rule page's "criteria-N"); the answer replaces #preview-<prefix>."""
    _require_manager(request)
    prefix = request.GET.get("prefix", "rule")
    if not PREVIEW_PREFIX.fullmatch(prefix):
        prefix = "rule"
    form = CriterionPreviewForm(request.POST, prefix=prefix)
    count = None
    if form.is_valid():
        count = criterion_accounts_count(user=request.user, **asdict(_preview_criterion(form.cleaned_data)))
    context = {"form": form, "count": count, "preview_id": _preview_id(prefix)}
    return render(request, "territories/partials/rule_preview.html", context)


def _preview_criterion(data: dict) -> PreviewCriterion:
    """A CriterionPreviewForm's cleaned data as the criterion the preview selectors count."""
    return PreviewCriterion(**{name: data[name] for name in PREVIEW_FIELDS})


PREVIEW_FIELDS = ("field", "operator", "values", "min_value", "max_value", "range_start", "range_end")
PREVIEW_PREFIX = re.compile(r"rule|criteria-\d{1,3}")
PREVIEW_MAX_CRITERIA = 50  # rows read from a posted rule form (a rule has at most one per field)


@login_required
@require_POST
def rule_whole_preview(request, pk: int):
    """htmx: how many accounts the whole rule being edited matches — all its posted criteria together,
    within the territory's parent; the answer replaces #rule-preview-all. Rows without a field are skipped;
    a row with errors shows them instead of a count (its own preview says which)."""
    rule = _editable_rule_or_404(request, pk)
    territory = rule.territory
    try:
        total = min(int(request.POST.get("criteria-TOTAL_FORMS", 0)), PREVIEW_MAX_CRITERIA)
    except ValueError:
        total = 0
    criteria, invalid = [], False
    for i in range(max(total, 0)):
        if not request.POST.get(f"criteria-{i}-field"):
            continue
        form = CriterionPreviewForm(request.POST, prefix=f"criteria-{i}")
        if not form.is_valid():
            invalid = True
            continue
        criteria.append(_preview_criterion(form.cleaned_data))
    count = None if invalid else rule_accounts_count(user=request.user, territory=territory, criteria=criteria)
    context = {
        "count": count,
        "invalid": invalid,
        "territory": territory,
        "criteria": criteria,
        "posted": True,
        # An unrun plan has no one in the parent yet: say so rather than show 0.
        "parent_unknown": count is not None and not parent_answer_known(territory=territory),
    }
    return render(request, "territories/partials/rule_preview_all.html", context)


def _preview_id(prefix: str) -> str:
    return "rule-preview" if prefix == "rule" else f"preview-{prefix}"


@login_required
@require_POST
def assignment_add(request, pk: int):
    """Assign a rep to the territory in a role between two dates (one owner at a time is enforced)."""
    _require_manager(request)
    territory = object_visible_or_404(Territory.objects.all(), request.user, pk=pk)
    form = RepAssignmentForm(request.POST, instance=RepAssignment(territory=territory), user=request.user)
    if form.is_valid():
        # The form skips constraints on fields it does not show (territory): check "one owner" here.
        try:
            form.instance.validate_constraints()
        except ValidationError as error:
            form._update_errors(error)
    if form.is_valid():
        with transaction.atomic():
            assignment = form.save()
            audit_record(user=request.user, action=AuditEntry.Action.CREATE, instance=assignment)
        messages.success(request, f"{assignment.rep.name} assigned as {assignment.get_role_display().lower()}.")
    else:
        _errors_flash(request, form, form.errors, prefix="Assignment not saved: ")
    return redirect("territories:detail", pk=territory.pk)


# --- Rules, criteria, overrides and named accounts of an existing territory (managers) ---------------


def _rule_audit_state(rule: TerritoryRule) -> dict:
    """A rule with its criteria, as the API's audit trail records it (TerritoryRuleViewSet.audit_state)."""
    criteria = []
    for criterion in RuleCriterion.objects.filter(rule=rule).order_by("id"):
        snapshot = audit_snapshot(criterion)
        snapshot.pop("id", None)
        snapshot.pop("rule_id", None)
        criteria.append(snapshot)
    return {**audit_snapshot(rule), "criteria": criteria}


def _editable_rule_or_404(request, pk: int) -> TerritoryRule:
    _require_manager(request)
    rule = object_visible_or_404(
        TerritoryRule.objects.select_related("territory__territory_model"), request.user, pk=pk
    )
    _require_editable(rule.territory.territory_model)
    return rule


@login_required
def rule_edit(request, pk: int):
    """A rule's name and position and its criteria: change, add (the empty row), remove (tick Delete)."""
    rule = _editable_rule_or_404(request, pk)
    territory = rule.territory
    if request.method == "POST" and (refused := _live_root_refused(request, territory)):
        return refused
    before = _rule_audit_state(rule) if request.method == "POST" else None
    form = RuleForm(request.POST or None, instance=rule)
    formset = CriterionFormSet(
        request.POST or None, instance=rule, prefix="criteria", queryset=RuleCriterion.objects.order_by("id")
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            with transaction.atomic():
                form.save()
                formset.save()
                changes = audit_changes(before, _rule_audit_state(rule))
                if changes:
                    audit_record(user=request.user, action=AuditEntry.Action.UPDATE, instance=rule, changes=changes)
        except IntegrityError:
            # Only a concurrent change gets here: validation already checked one criterion per field.
            logger.warning("rule %s changed concurrently", rule.pk, exc_info=True)
            form.add_error(None, "This rule was changed at the same time by someone else; reload it and try again.")
        else:
            messages.success(
                request, f"Saved {rule}. Run the assignment of {territory.territory_model.name} to apply it."
            )
            return redirect("territories:detail", pk=territory.pk)
    context = {
        "nav": "territories",  # a rule is part of its territory
        "rule": rule,
        "territory": territory,
        "model": territory.territory_model,
        "form": form,
        "formset": formset,
        "criteria_forms": [(f"criteria-{i}", _preview_id(f"criteria-{i}"), f) for i, f in enumerate(formset)],
    }
    return render(request, "territories/rule_edit.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def rule_delete(request, pk: int):
    rule = _editable_rule_or_404(request, pk)
    territory = rule.territory
    if refused := _live_root_refused(request, territory):
        return refused
    with transaction.atomic():
        changes = {name: [value, None] for name, value in _rule_audit_state(rule).items()}
        audit_record(user=request.user, action=AuditEntry.Action.DELETE, instance=rule, changes=changes)
        name = str(rule)
        rule.delete()
    messages.success(request, f"Deleted {name}. Run the assignment of {territory.territory_model.name} to apply it.")
    return redirect("territories:detail", pk=territory.pk)


@login_required
@require_POST
def criterion_delete(request, pk: int):
    _require_manager(request)
    criterion = object_visible_or_404(
        RuleCriterion.objects.select_related("rule__territory__territory_model"), request.user, pk=pk
    )
    _require_editable(criterion.rule.territory.territory_model)
    if refused := _live_root_refused(request, criterion.rule.territory):
        return refused
    with transaction.atomic():
        audit_record(
            user=request.user, action=AuditEntry.Action.DELETE, instance=criterion, changes=_deleted(criterion)
        )
        criterion.delete()
    messages.success(request, f"Removed the criterion on {criterion.get_field_display().lower()}.")
    return redirect("territories:rule-edit", pk=criterion.rule_id)


def _editable_territory_or_404(request, pk: int) -> Territory:
    _require_manager(request)
    territory = object_visible_or_404(Territory.objects.select_related("territory_model"), request.user, pk=pk)
    _require_editable(territory.territory_model)
    return territory


def _pin_form_page(request, *, form, territory, title: str, action_url: str):
    context = {"nav": "territories", "territory": territory, "form": form, "title": title, "action_url": action_url}
    return render(request, "territories/pin_edit.html", context, status=400 if request.method == "POST" else 200)


def _pin_create(request, form):
    """Save a new pin (override or named account), audit it and queue its account, in one transaction."""
    with transaction.atomic():
        saved = form.save()
        audit_record(
            user=request.user,
            action=AuditEntry.Action.CREATE,
            instance=saved,
            changes=audit_changes({}, audit_snapshot(saved)),
        )
        accounts_changed_on_commit([saved.account_id])
    return saved


@login_required
def override_add(request, pk: int):
    """Pin an account to this territory (it beats the rules), with a reason; the account is reassigned."""
    territory = _editable_territory_or_404(request, pk)
    override = TerritoryOverride(territory=territory, created_by=request.user)
    form = TerritoryOverrideForm(request.POST or None, instance=override, user=request.user, prefix="override")
    if request.method == "POST" and form.is_valid():
        saved = _pin_create(request, form)
        messages.success(request, f"{saved.account} is pinned to {territory.name}.")
        return redirect("territories:detail", pk=territory.pk)
    return _pin_form_page(
        request,
        form=form,
        territory=territory,
        title=f"Pin an account to {territory.name}",
        action_url=reverse("territories:override-add", args=[territory.pk]),
    )


def _editable_override_or_404(request, pk: int) -> TerritoryOverride:
    _require_manager(request)
    override = object_visible_or_404(
        TerritoryOverride.objects.select_related("territory__territory_model", "account"), request.user, pk=pk
    )
    _require_editable(override.territory.territory_model)
    return override


@login_required
def override_edit(request, pk: int):
    """Change the reason of a pin (the account and territory stay; remove the pin to move it)."""
    override = _editable_override_or_404(request, pk)
    before = audit_snapshot(override)
    form = TerritoryOverrideForm(request.POST or None, instance=override, user=request.user, prefix="override")
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            changes = audit_changes(before, audit_snapshot(saved))
            if changes:
                audit_record(user=request.user, action=AuditEntry.Action.UPDATE, instance=saved, changes=changes)
            accounts_changed_on_commit([saved.account_id])
        messages.success(request, f"Saved the pin of {saved.account}.")
        return redirect("territories:detail", pk=override.territory_id)
    return _pin_form_page(
        request,
        form=form,
        territory=override.territory,
        title=f"Pin of {override.account} to {override.territory.name}",
        action_url=reverse("territories:override-edit", args=[override.pk]),
    )


@login_required
@require_POST
def override_delete(request, pk: int):
    override = _editable_override_or_404(request, pk)
    with transaction.atomic():
        audit_record(user=request.user, action=AuditEntry.Action.DELETE, instance=override, changes=_deleted(override))
        override.delete()
        accounts_changed_on_commit([override.account_id])
    messages.success(request, f"{override.account} is no longer pinned to {override.territory.name}.")
    return redirect("territories:detail", pk=override.territory_id)


@login_required
def named_account_add(request, pk: int):
    """Name an account in an account-based territory; the account is reassigned."""
    territory = _editable_territory_or_404(request, pk)
    if territory.kind != TerritoryKind.ACCOUNT:
        raise Http404("Only account-based territories name accounts.")
    form = NamedAccountForm(
        request.POST or None, instance=NamedAccount(territory=territory), user=request.user, prefix="named"
    )
    if request.method == "POST" and form.is_valid():
        saved = _pin_create(request, form)
        messages.success(request, f"{saved.account} is named in {territory.name}.")
        return redirect("territories:detail", pk=territory.pk)
    return _pin_form_page(
        request,
        form=form,
        territory=territory,
        title=f"Name an account in {territory.name}",
        action_url=reverse("territories:named-account-add", args=[territory.pk]),
    )


@login_required
@require_POST
def named_account_delete(request, pk: int):
    _require_manager(request)
    named = object_visible_or_404(
        NamedAccount.objects.select_related("territory__territory_model", "account"), request.user, pk=pk
    )
    _require_editable(named.territory.territory_model)
    with transaction.atomic():
        audit_record(user=request.user, action=AuditEntry.Action.DELETE, instance=named, changes=_deleted(named))
        named.delete()
        accounts_changed_on_commit([named.account_id])
    messages.success(request, f"{named.account} is no longer named in {named.territory.name}.")
    return redirect("territories:detail", pk=named.territory_id)
