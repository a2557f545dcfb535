"""Who sees what: the one access mechanism behind pages and the API.

Every model that shows data has a manager built from a QuerySet here, so any reader writes
`Model.objects.visible_to(user)`. The rules:

- admins (group Admin or superuser), integration users and unscoped sales managers see everything;
- a sales manager with ManagerScope rows sees the subtrees of those territory codes (in every model);
- a sales rep sees the territories of the active alignment they are assigned to today, and their subtrees
  (TerritoryClosure) — never a planning model's copies of them (a draft realignment is the managers'
  business) nor an archived alignment's;
  accounts currently in those territories (deepest-membership rule, docs/ARCHITECTURE.md), deals of
  those accounts plus deals they are the rep of, and targets, rollups, rules… of visible territories;
- a user without any role sees nothing.

Hidden objects are filtered out, so a detail lookup answers 404, never 403.
The visible territory ids are read once per request (one query) and passed to every filter as a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core import roles
from territories.choices import TerritoryModelState

_SCOPE_CACHE_ATTR = "_access_scope"


@dataclass(frozen=True)
class AccessScope:
    """everything: no filter; nothing: empty; else territory_ids lists the visible territory ids."""

    everything: bool = False
    nothing: bool = False
    territory_ids: Any = None
    rep_id: int | None = None


def _model(label: str):
    return apps.get_model(label)


def current_assignments(*, on=None):
    """Rep assignments in force on a date (today by default): started, and not ended before it."""
    day = on or timezone.localdate()
    return (
        _model("territories.RepAssignment")
        .objects.filter(start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
    )


def live_assignments(*, on=None):
    """Assignments in force on a date in the active alignment: the ones a rep's access follows."""
    return current_assignments(on=on).filter(territory__territory_model__state=TerritoryModelState.ACTIVE)


def _ids(queryset: models.QuerySet) -> list[int]:
    """The visible territory ids as a list (one query, once per request): filters then carry the ids
    themselves, so PostgreSQL plans with the real count — as a subquery, a rep over 250 sub-territories
    was estimated at 5 and their deal list planned as a scan of every membership."""
    return _nonempty(sorted(set(queryset.values_list("descendant_id", flat=True))))


def _nonempty(ids: list[int]) -> list[int]:
    # `id__in=[]` makes Django drop the whole query (EmptyResultSet), also where it is only one branch of
    # an OR (a rep with no territory still sees the deals they are the rep of): 0 is no territory's id.
    return ids or [0]


def _descendants_of(ancestor_ids) -> models.QuerySet:
    return _model("territories.TerritoryClosure").objects.filter(ancestor_id__in=ancestor_ids).values("descendant_id")


def access_scope(user) -> AccessScope:
    """The caller's scope, computed once per user object (one request)."""
    cached = getattr(user, _SCOPE_CACHE_ATTR, None)
    if cached is not None:
        return cached
    scope = _access_scope_compute(user)
    if user is not None and user.is_authenticated:
        setattr(user, _SCOPE_CACHE_ATTR, scope)
    return scope


def access_facts_attach(
    user,
    *,
    role_names: set[str],
    scope_codes: list[str],
    rep_id: int | None,
    rep_territory_ids: list[int],
    scope_territory_ids: list[int],
) -> None:
    """Set the user's roles and scope from facts loaded with the user (API token authentication loads
    them in its one query: the descendants of the rep's current assignments and of the manager's scope
    codes, as current_assignments and _descendants_of define them), so neither needs a query of its own."""
    roles.user_roles_attach(user, {name for name in role_names if name})
    codes = [code for code in scope_codes if code]
    known = {"rep": _nonempty(sorted(set(rep_territory_ids))), "manager": _nonempty(sorted(set(scope_territory_ids)))}
    setattr(user, _SCOPE_CACHE_ATTR, _access_scope_from(user, roles.user_roles(user), codes, rep_id, known=known))


def _access_scope_compute(user) -> AccessScope:
    if user is None or not user.is_authenticated or not user.is_active:
        return AccessScope(nothing=True)
    names = roles.user_roles(user)
    codes = rep_id = None
    if roles.SALES_MANAGER in names and not names & {roles.ADMIN, roles.INTEGRATION}:
        codes = list(_model("core.ManagerScope").objects.filter(user=user).values_list("territory_code", flat=True))
    elif roles.SALES_REP in names and not names & {roles.ADMIN, roles.INTEGRATION}:
        rep_id = _model("reps.Rep").objects.filter(user=user).values_list("id", flat=True).first()
    return _access_scope_from(user, names, codes or [], rep_id)


def _access_scope_from(
    user, names: set[str], codes: list[str], rep_id: int | None, *, known: dict | None = None
) -> AccessScope:
    """The scope rules, given the user's role names, manager scope codes and rep id (and, when already
    loaded, the territory ids each would see: known["rep"], known["manager"])."""
    known = known or {}
    if not user.is_active:
        return AccessScope(nothing=True)
    if roles.ADMIN in names or roles.INTEGRATION in names:
        return AccessScope(everything=True)
    if roles.SALES_MANAGER in names:
        if not codes:
            return AccessScope(everything=True)
        if "manager" in known:
            return AccessScope(territory_ids=known["manager"])
        roots = _model("territories.Territory").objects.filter(code__in=codes).values("id")
        return AccessScope(territory_ids=_ids(_descendants_of(roots)))
    if roles.SALES_REP in names:
        if rep_id is None:
            return AccessScope(nothing=True)
        if "rep" in known:
            return AccessScope(territory_ids=known["rep"], rep_id=rep_id)
        assigned = live_assignments().filter(rep_id=rep_id).values("territory_id")
        return AccessScope(territory_ids=_ids(_descendants_of(assigned)), rep_id=rep_id)
    return AccessScope(nothing=True)


class ScopeOnlyCaller:
    """Stands in for a user where only the access scope counts: compiling a statement once for every
    caller of one scope's shape (core.api.viewsets)."""

    is_authenticated = True
    is_active = True

    def __init__(self, scope: AccessScope):
        setattr(self, _SCOPE_CACHE_ATTR, scope)


def visible_account_ids(scope: AccessScope) -> models.QuerySet:
    """Accounts currently in a visible territory (any stored deepest membership under it)."""
    return (
        _model("territories.AccountTerritoryMembership")
        .objects.filter(valid_to__isnull=True, territory_id__any=scope.territory_ids)
        .values("account_id")
    )


class VisibleQuerySet(models.QuerySet):
    """Base: subclasses say how a territory-scoped caller is filtered."""

    def visible_to(self, user):
        scope = access_scope(user)
        if scope.everything:
            return self
        if scope.nothing:
            return self.none()
        return self.filter(self.scoped_filter(scope))

    def scoped_filter(self, scope: AccessScope) -> Q:
        # Fail closed: a model that does not say how it is scoped shows a scoped caller nothing.
        return Q(pk__in=[])


class CatalogQuerySet(VisibleQuerySet):
    """Reference data (products, lines, campaigns, KPI definitions): everyone with a role reads it all."""

    def scoped_filter(self, scope: AccessScope) -> Q:
        return Q()


class TerritoryScopedQuerySet(VisibleQuerySet):
    """Rows hanging off one territory (rules, overrides, named accounts, targets, rollups…)."""

    territory_lookup = "territory_id"

    def scoped_filter(self, scope: AccessScope) -> Q:
        return Q(**{f"{self.territory_lookup}__any": scope.territory_ids})


class TerritoryQuerySet(TerritoryScopedQuerySet):
    territory_lookup = "id"


class RuleCriterionQuerySet(TerritoryScopedQuerySet):
    territory_lookup = "rule__territory_id"


class TerritoryModelQuerySet(VisibleQuerySet):
    def scoped_filter(self, scope: AccessScope) -> Q:
        territories = _model("territories.Territory").objects.filter(
            territory_model_id=OuterRef("pk"), id__any=scope.territory_ids
        )
        return Q(Exists(territories))


class RepAssignmentQuerySet(TerritoryScopedQuerySet):
    def scoped_filter(self, scope: AccessScope) -> Q:
        # Their own assignments, past ones included — but not a plan's (a draft realignment).
        plan = TerritoryModelState.PLANNING
        own = Q(rep_id=scope.rep_id) & ~Q(territory__territory_model__state=plan) if scope.rep_id else Q(pk__in=[])
        return super().scoped_filter(scope) | own


class RepQuerySet(VisibleQuerySet):
    """A rep sees themself and the reps currently assigned within their visible territories.

    Managers, scoped or not, see every rep: staffing their subtree means picking from everyone.
    """

    def scoped_filter(self, scope: AccessScope) -> Q:
        if scope.rep_id is None:
            return Q()
        colleagues = live_assignments().filter(territory_id__any=scope.territory_ids).values("rep_id")
        own = Q(pk=scope.rep_id) if scope.rep_id else Q(pk__in=[])
        return Q(pk__in=colleagues) | own


class AccountQuerySet(VisibleQuerySet):
    def scoped_filter(self, scope: AccessScope) -> Q:
        return Q(pk__in_current_territories=scope.territory_ids)


class DealQuerySet(VisibleQuerySet):
    def scoped_filter(self, scope: AccessScope) -> Q:
        own = Q(rep_id=scope.rep_id) if scope.rep_id else Q(pk__in=[])
        return Q(account_id__in_current_territories=scope.territory_ids) | own


class AuditEntryQuerySet(VisibleQuerySet):
    """Managers read the audit trail (scoped managers: entries of their territory codes); reps do not."""

    def visible_to(self, user):
        if not roles.is_manager(user):
            return self.none()
        return super().visible_to(user)

    def scoped_filter(self, scope: AccessScope) -> Q:
        codes = _model("territories.Territory").objects.filter(id__any=scope.territory_ids).values("code")
        return Q(territory_code__in=codes)


class ManagersOnlyQuerySet(models.QuerySet):
    """Operational records (background runs): managers see them all, nobody else any."""

    def visible_to(self, user):
        return self if roles.is_manager(user) else self.none()


class ApiTokenQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Everyone manages only their own tokens."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


def territory_ids_writable(user, territory_ids) -> bool:
    """True when every given territory is inside the caller's scope."""
    wanted = {tid for tid in territory_ids if tid is not None}
    if not wanted:
        return True
    visible = _model("territories.Territory").objects.visible_to(user).filter(id__in=wanted).count()
    return visible == len(wanted)
