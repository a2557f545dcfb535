"""A brute-force assignment written straight from docs/ASSIGNMENT.md, to check the SQL engine against.

Plain Python over every account × territory; only for small test data.
"""

import math
from collections import defaultdict

from accounts.models import Account, Deal
from territories.choices import FIELDS_BY_KIND, OPERATORS_BY_FIELD, TerritoryKind
from territories.models import NamedAccount, RuleCriterion, Territory, TerritoryOverride, TerritoryRule

GEO_LEVEL = {"postal_code": 4, "city": 3, "region": 2, "country": 1, "product": 2, "product_line": 1}
ACCOUNT_TEXT = {"country", "region", "city", "postal_code", "business_type", "industry"}


def _text(value) -> str:
    return str(value or "").lower()


def criterion_matches(criterion: RuleCriterion, kind: str, account: Account | None, deal: Deal | None) -> bool:
    if criterion.field not in FIELDS_BY_KIND[TerritoryKind(kind)]:
        return False
    if criterion.operator not in OPERATORS_BY_FIELD[criterion.field]:
        return False
    values = [_text(v) for v in criterion.values]
    if criterion.field in ("product", "product_line"):
        if deal is None or deal.product is None:
            return False
        actual = _text(deal.product.sku if criterion.field == "product" else deal.product.product_line.code)
        return actual in values
    if account is None:
        return False
    if criterion.field in ("employees", "annual_revenue"):
        actual = account.employees if criterion.field == "employees" else account.annual_revenue
        if actual is None:
            return False
        low_ok = criterion.min_value is None or actual >= criterion.min_value
        high_ok = criterion.max_value is None or actual <= criterion.max_value
        return low_ok and high_ok
    actual = _text(getattr(account, criterion.field))
    if criterion.operator == "in":
        return actual in values
    if criterion.operator == "prefix":
        return any(actual.startswith(v) for v in values)
    start, end = criterion.range_start.lower(), criterion.range_end.lower()
    if not start or not end or len(start) != len(end) or len(actual) != len(start):
        return False
    return start <= actual <= end


def rule_specificity(criteria: list[RuleCriterion]) -> tuple[int, float]:
    level = max((GEO_LEVEL.get(c.field, 0) for c in criteria), default=0)
    widths = []
    for c in criteria:
        if c.field == "postal_code" and c.operator == "in":
            widths.append(0)
        elif c.field == "postal_code" and c.operator == "range":
            if c.range_start.isdigit() and c.range_end.isdigit():
                widths.append(int(c.range_end) - int(c.range_start))
        elif c.operator == "range" and c.min_value is not None and c.max_value is not None:
            widths.append(c.max_value - c.min_value)
    return level, (min(widths) if widths else math.inf)


def reference_assign(model) -> dict:
    """{'deep': {(account, territory, source)}, 'overlaps': {(account, winner, loser, reason)}, 'deals': {...}}"""
    territories = {t.pk: t for t in Territory.objects.filter(territory_model=model)}
    children = defaultdict(list)
    for t in territories.values():
        children[t.parent_id].append(t)
    rules = defaultdict(list)  # territory id -> [criteria of one rule]
    by_rule = defaultdict(list)
    for rule in TerritoryRule.objects.filter(territory__territory_model=model):
        by_rule[rule.pk] = []
        rules[rule.territory_id].append(by_rule[rule.pk])
    for criterion in RuleCriterion.objects.filter(rule__territory__territory_model=model):
        by_rule[criterion.rule_id].append(criterion)

    def ancestors_or_self(t):
        while t is not None:
            yield t
            t = territories.get(t.parent_id)

    forced = defaultdict(dict)  # account -> territory -> best source
    for source, rows in (
        (0, TerritoryOverride.objects.filter(territory__territory_model=model)),
        (1, NamedAccount.objects.filter(territory__territory_model=model)),
    ):
        for row in rows:
            for t in ancestors_or_self(territories[row.territory_id]):
                if t.kind != "product":
                    forced[row.account_id][t.pk] = min(source, forced[row.account_id].get(t.pk, 9))

    def candidate_key(t, account=None, deal=None):
        keys = []
        if account is not None and t.pk in forced[account.pk]:
            keys.append((forced[account.pk][t.pk], -t.priority, 0, math.inf, t.code))
        usable = (deal is not None) == (t.kind == "product") and t.kind != "account"
        if usable:
            for criteria in rules[t.pk]:
                if all(criterion_matches(c, t.kind, account, deal) for c in criteria):
                    level, width = rule_specificity(criteria)
                    keys.append((2, -t.priority, -level, width, t.code))
        return min(keys) if keys else None

    def reason(winner_key, loser_key):
        if winner_key[0] != loser_key[0]:
            return "override" if winner_key[0] == 0 else "named"
        if winner_key[1] != loser_key[1]:
            return "priority"
        if winner_key[2:4] != loser_key[2:4]:
            return "specificity"
        return "tie_break"

    deep, overlaps, deal_rows = set(), set(), set()
    accounts = list(Account.objects.all())
    for account in accounts:

        def walk(parent_id, account=account):
            groups = defaultdict(list)
            for t in children[parent_id]:
                if t.kind == "product":
                    continue
                key = candidate_key(t, account=account)
                if key is not None:
                    groups[t.kind].append((key, t))
            entered = []
            for candidates in groups.values():
                candidates.sort(key=lambda item: item[0])
                winner_key, winner = candidates[0]
                for loser_key, loser in candidates[1:]:
                    overlaps.add((account.pk, winner.pk, loser.pk, reason(winner_key, loser_key)))
                entered.append(winner)
            return entered

        def descend(t, account=account):
            inside = walk(t.pk)
            if not inside:
                source = {0: "override", 1: "named", 2: "rule"}[candidate_key(t, account)[0]]
                deep.add((account.pk, t.pk, source))
            for child in inside:
                descend(child)

        for root in walk(None):
            descend(root)
    account_in = defaultdict(set)
    for account_id, territory_id, _ in deep:
        for t in ancestors_or_self(territories[territory_id]):
            account_in[account_id].add(t.pk)

    for deal in Deal.objects.select_related("product__product_line"):

        def deal_walk(parent_id, deal=deal):
            candidates = []
            for t in children[parent_id]:
                if t.kind != "product":
                    continue
                key = candidate_key(t, deal=deal)
                if key is not None:
                    candidates.append((key, t))
            candidates.sort(key=lambda item: item[0])
            return candidates[0][1] if candidates else None

        def deal_descend(t, deal=deal):
            child = deal_walk(t.pk)
            if child is None:
                deal_rows.add((deal.pk, t.pk))
            else:
                deal_descend(child)

        starts = [None, *account_in[deal.account_id]]
        for parent_id in starts:
            first = deal_walk(parent_id)
            if first is not None:
                deal_descend(first)
    return {"deep": deep, "overlaps": overlaps, "deals": deal_rows}
