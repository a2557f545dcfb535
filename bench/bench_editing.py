"""The editing pages, in process (Django test client, one manager, sequential requests): median wall time.

Dataset: seed_demo's accounts, deals and alignment, assigned. Measured on a geographic leaf territory of the
active model that has a rule: the territory page, its edit page, the rule page, one live preview (a country
criterion counted over every visible account), the whole rule's preview (its criteria together, within its
parent), a rule save that changes a criterion (validation, save, audit), pinning an account then removing
the pin (two requests; each queues the account for the worker), and the reassignment of that account after
each (what the worker's drain runs first).
Baseline: /health/ in the same process. Not the gunicorn / 20-user figure of bench_pages: this is the
cost of one request.
"""

import json
import os
import statistics
import sys
import time

from bench.common import bench_database, manage, result_row, worker_figures

SIZES = {"full": (100_000, 1_000_000), "small": (5_000, 50_000)}
SAMPLES = {"full": 15, "small": 10}
GOAL_MS = 200.0


def _median_ms(function, samples: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(samples):
        begin = time.perf_counter()
        function()
        times.append((time.perf_counter() - begin) * 1000)
    return statistics.median(times)


def worker(samples: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Account
    from territories import reassign_queue
    from territories.models import ReassignPending, RuleCriterion, Territory, TerritoryOverride
    from territories.services import account_reassign

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(username="manager"))
    criterion = (
        RuleCriterion.objects.filter(
            rule__territory__territory_model__state="active",
            rule__territory__kind="geographic",
            rule__territory__children__isnull=True,
            field__in=("region", "city"),  # free-text values: the save below may append one
            operator="in",
        )
        .select_related("rule__territory")
        .order_by("id")
        .first()
    )
    rule, territory = criterion.rule, criterion.rule.territory
    account = Account.objects.exclude(territory_overrides__isnull=False).order_by("id").first()

    def ok(response, status=200):
        if response.status_code != status:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
        return response

    criteria = list(rule.criteria.order_by("id"))
    rule_data = {
        "name": rule.name,
        "position": rule.position,
        "criteria-TOTAL_FORMS": len(criteria) + 1,
        "criteria-INITIAL_FORMS": len(criteria),
        "criteria-MIN_NUM_FORMS": 0,
        "criteria-MAX_NUM_FORMS": 1000,
    }
    for i, c in enumerate([*criteria, None]):
        row = {"field": "", "operator": "in", "values": "", "min_value": "", "max_value": "", "range_start": ""}
        row["range_end"] = ""
        if c is not None:
            row.update(
                id=c.pk, field=c.field, operator=c.operator, values=", ".join(c.values),
                min_value=c.min_value or "", max_value=c.max_value or "",
                range_start=c.range_start, range_end=c.range_end,
            )  # fmt: skip
        row["rule"] = rule.pk
        rule_data.update({f"criteria-{i}-{name}": value for name, value in row.items()})
    key = f"criteria-{criteria.index(criterion)}-values"  # the region / city criterion found above
    original = rule_data[key]
    flip = {"n": 0}

    def save_rule():
        flip["n"] += 1  # alternate between two values, so every save changes something
        rule_data[key] = original if flip["n"] % 2 else f"{original}, Bench Town"
        ok(client.post(reverse("territories:rule-edit", args=[rule.pk]), rule_data), 302)

    def pin_and_unpin():
        url = reverse("territories:override-add", args=[territory.pk])
        ok(client.post(url, {"override-account": account.external_id, "override-reason": "bench"}), 302)
        pin = TerritoryOverride.objects.get(territory=territory, account=account)
        ok(client.post(reverse("territories:override-delete", args=[pin.pk])), 302)

    def reassign_after_pin_and_unpin():
        pin = TerritoryOverride.objects.create(territory=territory, account=account, reason="bench")
        account_reassign(account_ids=[account.pk])
        pin.delete()
        account_reassign(account_ids=[account.pk])

    preview = {"rule-field": "country", "rule-operator": "in", "rule-values": "US, DE, FR"}
    figures = {
        "territory": f"{territory.code} ({Territory.objects.count():,} territories)",
        "health": _median_ms(lambda: ok(client.get("/health/")), samples),
        "territory page": _median_ms(
            lambda: ok(client.get(reverse("territories:detail", args=[territory.pk]))), samples
        ),
        "territory edit page": _median_ms(
            lambda: ok(client.get(reverse("territories:edit", args=[territory.territory_model_id, territory.pk]))),
            samples,
        ),
        "rule page": _median_ms(lambda: ok(client.get(reverse("territories:rule-edit", args=[rule.pk]))), samples),
        "live preview (country, all accounts)": _median_ms(
            lambda: ok(client.post(reverse("territories:rule-preview"), preview)), samples
        ),
        "whole-rule preview (all the rule's criteria, within its parent)": _median_ms(
            lambda: ok(client.post(reverse("territories:rule-preview-all", args=[rule.pk]), rule_data)), samples
        ),
        "rule save": _median_ms(save_rule, samples),
    }
    # The requests only queue the account (the worker drains the queue): measured without the drain, then
    # the drain's reassignment on its own (its KPI follow-up, dirty rollups and a recompute, is bench_kpis').
    queued = reassign_queue._enqueue_drain
    reassign_queue._enqueue_drain = lambda: None
    try:
        figures["pin + remove the pin (2 requests)"] = _median_ms(pin_and_unpin, samples)
    finally:
        reassign_queue._enqueue_drain = queued
    ReassignPending.objects.all().delete()
    figures["reassign the account after each (2 x account_reassign)"] = _median_ms(
        reassign_after_pin_and_unpin, samples
    )
    return figures


def run(scale: str) -> list[dict]:
    accounts, deals = SIZES[scale]
    with bench_database(f"editing_{scale}") as url:
        print("[bench editing] seeding and assigning …", file=sys.stderr, flush=True)
        manage(url, "seed_demo", "--accounts", str(accounts), "--deals", str(deals))
        manage(url, "assign_territories")
        # Celery eager: the reassignment after a pin runs in the request.
        figures = worker_figures(url, "bench.bench_editing", str(SAMPLES[scale]))
    print(json.dumps(figures, indent=1), file=sys.stderr)
    baseline = figures.pop("health")
    where = figures.pop("territory")
    dataset = f"{deals:,} deals, {accounts:,} accounts, {where}, load {os.getloadavg()[0]:.1f}"
    return [
        result_row(
            name=f"in process: {name}",
            dataset=dataset,
            value=value,
            unit="ms",
            goal=f"<= {GOAL_MS:.0f} ms",
            baseline=baseline,
            ok=value <= GOAL_MS,
        )
        for name, value in figures.items()
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    print(json.dumps(worker(int(sys.argv[2]))))
