"""A straightforward, slow Python computation of every KPI from the definitions in issue 4 / docs/KPIS.md.

It reads the raw tables through the ORM and walks parent pointers itself (not TerritoryClosure), so it
checks the set-based SQL independently.
"""

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from accounts.models import Account, Deal, Product
from kpis.models import KpiTarget
from territories.models import AccountTerritoryMembership, DealTerritoryMembership, Territory, TerritoryModel

SIX = Decimal("0.000001")
NEG_INF = date.min
POS_INF = date.max


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    index = d.year * 12 + d.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def period_of(kind: str, d: date) -> date:
    if kind == "month":
        return d.replace(day=1)
    if kind == "quarter":
        return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    return date(d.year, 1, 1)


def period_end(kind: str, start: date) -> date:
    last_month = add_months(start, {"month": 0, "quarter": 2, "year": 11}[kind])
    return last_month.replace(day=calendar.monthrange(last_month.year, last_month.month)[1])


def previous_period(kind: str, start: date) -> date:
    return add_months(start, -{"month": 1, "quarter": 3, "year": 12}[kind])


def q6(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(SIX, rounding=ROUND_HALF_UP)


def ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return q6(Decimal(numerator) / Decimal(denominator))


class Reference:
    def __init__(self, view: str):
        self.view = view
        self.today = timezone.localdate()
        self.active = TerritoryModel.objects.get(state="active")
        self.states = dict(TerritoryModel.objects.values_list("id", "state"))
        self.territories = {t.id: t for t in Territory.objects.all()}
        self.deals = list(Deal.objects.all())
        self.account_ids = list(Account.objects.values_list("id", flat=True))
        self.account_ms = list(AccountTerritoryMembership.objects.all())
        self.deal_ms = list(DealTerritoryMembership.objects.all())
        self.targets = {
            (t.territory_id, t.period_type, t.period_start): t.value
            for t in KpiTarget.objects.filter(kpi__code="revenue")
        }

    # --- hierarchy (parent pointers) ---
    def ancestors_or_self(self, territory_id: int) -> list[Territory]:
        chain, node = [], self.territories[territory_id]
        while node is not None:
            chain.append(node)
            node = self.territories[node.parent_id] if node.parent_id else None
        return chain

    def counts_for(self, holder_id: int, measured: Territory) -> bool:
        """Does a membership of `holder_id` count for the active territory `measured`?"""
        holder = self.territories[holder_id]
        if self.view == "restated":
            return any(t.id == measured.id for t in self.ancestors_or_self(holder_id))
        if self.states[holder.territory_model_id] == "planning":
            return False
        return any(t.code == measured.code for t in self.ancestors_or_self(holder_id))

    def state_of(self, territory_id: int) -> str:
        return self.states[self.territories[territory_id].territory_model_id]

    def ranges(self, memberships, key: str):
        """(owner id, territory id, lo, hi) with each owner's earliest membership reaching back (as-of)."""
        if self.view == "restated":
            return [(getattr(m, key), m.territory_id, NEG_INF, POS_INF) for m in memberships if m.valid_to is None]
        usable = [
            m for m in memberships if self.states[self.territories[m.territory_id].territory_model_id] != "planning"
        ]
        first = {}
        for m in usable:
            owner = getattr(m, key)
            first[owner] = min(first.get(owner, POS_INF), m.valid_from)
        return [
            (
                getattr(m, key),
                m.territory_id,
                NEG_INF if m.valid_from == first[getattr(m, key)] else m.valid_from,
                m.valid_to or POS_INF,
            )
            for m in usable
        ]

    def source_of(self, territory: Territory) -> Territory | None:
        if territory.kind != "product":
            return territory
        for ancestor in self.ancestors_or_self(territory.id)[1:]:
            if ancestor.kind != "product":
                return ancestor
        return None

    def in_territory(self, owner, on: date, measured: Territory, rows) -> bool:
        return any(o == owner and lo <= on < hi and self.counts_for(tid, measured) for o, tid, lo, hi in rows)

    def deals_of(self, territory: Territory, account_ranges, deal_ranges) -> list[Deal]:
        """The deals credited to the territory: held on the deal's date (closed_on, else today)."""
        if territory.kind == "product":
            return [d for d in self.deals if self.in_territory(d.id, d.closed_on or self.today, territory, deal_ranges)]
        return [
            d
            for d in self.deals
            if self.in_territory(d.account_id, d.closed_on or self.today, territory, account_ranges)
        ]

    def breakdowns(self) -> dict:
        """Pipeline by stage and revenue by product line: {(territory, dimension, stage, product line,
        period type, period start): (deals, amount, weighted)}, only where deals are."""
        account_ranges = self.ranges(self.account_ms, "account_id")
        deal_ranges = self.ranges(self.deal_ms, "deal_id")
        lines = dict(Product.objects.values_list("id", "product_line_id"))
        rows: dict = {}
        for territory in self.territories.values():
            if territory.territory_model_id != self.active.id:
                continue
            for deal in self.deals_of(territory, account_ranges, deal_ranges):
                if deal.closed_on is None and deal.expected_close_on:
                    key, on = ("stage", deal.stage, None), deal.expected_close_on
                    weighted = deal.amount * deal.probability / 100
                elif deal.stage == "won":
                    key, on, weighted = ("product_line", "", lines.get(deal.product_id)), deal.closed_on, None
                else:
                    continue
                for kind in ("month", "quarter", "year"):
                    full_key = (territory.id, *key, kind, period_of(kind, on))
                    deals, amount, total = rows.get(full_key, (0, Decimal(0), None))
                    if weighted is not None:
                        total = q6((total or 0) + weighted)
                    rows[full_key] = (deals + 1, amount + deal.amount, total)
        return rows

    # --- the KPIs ---
    def compute(self) -> dict:
        if not self.deals:
            return {}
        opens = [d.expected_close_on for d in self.deals if d.closed_on is None and d.expected_close_on]
        first_month = month_start(min([d.created_on for d in self.deals] + opens))
        last_day = max(
            [d.created_on for d in self.deals] + [d.closed_on for d in self.deals if d.closed_on] + opens + [self.today]
        )
        months = []
        m = first_month
        while m <= month_start(last_day):
            months.append(m)
            m = add_months(m, 1)
        calendar_end = period_end("month", months[-1])
        account_ranges = self.ranges(self.account_ms, "account_id")
        deal_ranges = self.ranges(self.deal_ms, "deal_id")

        results = {}
        for territory in self.territories.values():
            if territory.territory_model_id != self.active.id:
                continue

            deals = self.deals_of(territory, account_ranges, deal_ranges)
            source = self.source_of(territory)

            def accounts_at(d, source=source):
                if source is None:
                    return set(self.account_ids)
                return {a for a in self.account_ids if self.in_territory(a, d, source, account_ranges)}

            first_won = {}
            for deal in deals:
                if deal.stage == "won":
                    first_won[deal.account_id] = min(first_won.get(deal.account_id, POS_INF), deal.closed_on)

            periods = {(kind, period_of(kind, m)) for m in months for kind in ("month", "quarter", "year")}

            def revenue_in(kind, start, deals=deals):
                end = period_end(kind, start)
                return sum((d.amount for d in deals if d.stage == "won" and start <= d.closed_on <= end), Decimal(0))

            for kind, start in periods:
                end = period_end(kind, start)

                def inside(d, start=start, end=end):
                    return d is not None and start <= d <= end

                won = [d for d in deals if d.stage == "won" and inside(d.closed_on)]
                lost = [d for d in deals if d.stage == "lost" and inside(d.closed_on)]
                revenue = sum((d.amount for d in won), Decimal(0))
                previous = revenue_in(kind, previous_period(kind, start))
                pipeline = [d for d in deals if d.closed_on is None and inside(d.expected_close_on)]
                created = [d for d in deals if inside(d.created_on)]
                measured_on = min(end, calendar_end)
                members = accounts_at(measured_on)
                penetrated = {a for a in members if first_won.get(a, POS_INF) <= measured_on}
                target = self.targets.get((territory.id, kind, start))
                if target is None and kind != "month":
                    month_targets = [
                        v
                        for (tid, k, s), v in self.targets.items()
                        if tid == territory.id and k == "month" and start <= s <= end
                    ]
                    target = sum(month_targets, Decimal(0)) if month_targets else None
                values = {
                    "revenue": q6(revenue),
                    "deals_won": q6(len(won)),
                    "average_deal_size": ratio(revenue, len(won)),
                    "win_rate": ratio(len(won), len(won) + len(lost)),
                    "revenue_growth": ratio(revenue - previous, previous),
                    "new_customers": q6(sum(1 for a, f in first_won.items() if inside(f))),
                    "market_penetration": ratio(len(penetrated), len(members)),
                    "pipeline_value": q6(sum((d.amount for d in pipeline), Decimal(0))),
                    "weighted_pipeline": q6(sum((d.amount * d.probability / 100 for d in pipeline), Decimal(0))),
                    "lead_conversion": ratio(sum(1 for d in created if d.stage == "won"), len(created)),
                    "quota_attainment": ratio(revenue, target) if target else None,
                }
                for code, value in values.items():
                    results[(territory.id, code, kind, start)] = value
        return results


def stored_rollups(view: str) -> dict:
    from kpis.models import KpiRollup

    return {
        (r.territory_id, r.kpi.code, r.period_type, r.period_start): r.value
        for r in KpiRollup.objects.filter(view=view).select_related("kpi")
    }


def stored_breakdowns(view: str) -> dict:
    from kpis.models import KpiBreakdownRollup

    return {
        (r.territory_id, r.dimension, r.stage, r.product_line_id, r.period_type, r.period_start): (
            r.deals,
            r.amount,
            r.weighted,
        )
        for r in KpiBreakdownRollup.objects.filter(view=view)
    }


def assert_stored_match_reference() -> None:
    """The stored rollups and breakdowns of both views equal this module's computation."""
    for view in ("as_of", "restated"):
        expected = Reference(view).compute()
        stored = stored_rollups(view)
        assert set(stored) == set(expected), view
        mismatches = {key: (stored[key], expected[key]) for key in expected if stored[key] != expected[key]}
        assert not mismatches, (view, dict(list(mismatches.items())[:5]))
        assert stored_breakdowns(view) == Reference(view).breakdowns(), view
