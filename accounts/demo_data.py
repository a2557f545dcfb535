"""Generate a realistic, deterministic demo dataset: accounts, products, campaigns, deals, reps, the alignment.

Same seed → same rows. Randomness comes from one numpy Generator consumed in a fixed order, and every date
is relative to ANCHOR_DATE, never to today. Accounts and deals are generated column-wise with numpy and
loaded with PostgreSQL COPY; the few hundred reference rows (users, reps, territories, rules) go through
the ORM. It all runs in one transaction, so a failure leaves nothing behind.
"""

import io
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import connection, transaction

from accounts import demo_reference as ref
from accounts.choices import Industry
from accounts.models import Account, Campaign, Deal, Product, ProductLine
from core import roles
from core.models import ManagerScope
from reps.models import Rep
from territories.choices import AssignmentRole, TerritoryKind, TerritoryModelState
from territories.models import NamedAccount, RepAssignment, RuleCriterion, Territory, TerritoryModel, TerritoryRule

DEFAULT_ACCOUNTS = ref.DEFAULT_ACCOUNTS
DEFAULT_DEALS = ref.DEFAULT_DEALS
DEFAULT_SEED = ref.DEFAULT_SEED
COPY_CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    note: str = ""


# Demo-only credentials, printed by seed_demo and demo_logins. Every rep login shares REP_PASSWORD.
REP_PASSWORD = "rep-demo"  # noqa: S105
DEMO_LOGINS = (
    DemoLogin("admin", "admin-demo", roles.ADMIN, "superuser: everything, including /admin/"),
    DemoLogin("manager", "manager-demo", roles.SALES_MANAGER, "manages the alignment, sees every territory"),
    DemoLogin("emea-manager", "manager-demo", roles.SALES_MANAGER, "scoped to Europe (territory emea and below)"),
    DemoLogin(
        "rep1", REP_PASSWORD, roles.SALES_REP, "owner of Northern California; rep2, rep3, … use the same password"
    ),
    DemoLogin("integration", "integration-demo", roles.INTEGRATION, "API access for a CRM sync"),
)


class DemoDataError(ValueError):
    """The arguments or the database state do not allow seeding."""


@dataclass
class DemoSummary:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def demo_data_present() -> bool:
    return Account.objects.exists()


def demo_logins_existing() -> list[DemoLogin]:
    """The demo logins whose user exists (the rest were never seeded or were removed)."""
    existing = set(
        User.objects.filter(username__in=[login.username for login in DEMO_LOGINS]).values_list("username", flat=True)
    )
    return [login for login in DEMO_LOGINS if login.username in existing]


def demo_data_seed(
    *, accounts: int = DEFAULT_ACCOUNTS, deals: int = DEFAULT_DEALS, seed: int = DEFAULT_SEED
) -> DemoSummary:
    """Fill an empty database with the demo dataset. Raises DemoDataError on bad arguments or a non-empty database."""
    _validate_arguments(accounts=accounts, deals=deals, seed=seed)
    summary = DemoSummary()
    started = time.perf_counter()
    with transaction.atomic():
        _ensure_empty()
        rng = np.random.default_rng(seed)
        users = _create_demo_users()
        products = _create_products()
        campaigns = _create_campaigns(rng)
        team = _create_team(rng, accounts=accounts)
        summary.seconds["reference rows"] = time.perf_counter() - started

        tick = time.perf_counter()
        account_columns = _generate_accounts(rng, accounts)
        deal_columns = _generate_deals(rng, deals, account_columns, products=products, campaigns=campaigns, team=team)
        _derive_account_status(account_columns, deal_columns)
        summary.seconds["generate"] = time.perf_counter() - tick

        tick = time.perf_counter()
        with (
            _indexes_and_foreign_keys_deferred("accounts_account"),
            _indexes_and_foreign_keys_deferred("accounts_deal"),
        ):
            _copy_accounts(account_columns)
            _copy_deals(deal_columns)
        _reset_sequences()
        summary.seconds["copy"] = time.perf_counter() - tick

        tick = time.perf_counter()
        _create_alignment(team=team, account_columns=account_columns, admin=users["admin"])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounts_account; ANALYZE accounts_deal")
        summary.seconds["alignment"] = time.perf_counter() - tick

    summary.seconds["total"] = time.perf_counter() - started
    summary.counts = {
        "accounts": accounts,
        "deals": deals,
        "products": Product.objects.count(),
        "campaigns": Campaign.objects.count(),
        "reps": Rep.objects.count(),
        "territories": Territory.objects.count(),
        "rep assignments": RepAssignment.objects.count(),
        "named accounts": NamedAccount.objects.count(),
    }
    return summary


# --- checks -------------------------------------------------------------------------------------------


def _validate_arguments(*, accounts: int, deals: int, seed: int) -> None:
    if accounts < 0:
        raise DemoDataError(f"--accounts must be 0 or more, not {accounts}.")
    if deals < 0:
        raise DemoDataError(f"--deals must be 0 or more, not {deals}.")
    if deals > 0 and accounts == 0:
        raise DemoDataError("--deals needs accounts to belong to: give --accounts 1 or more (or --deals 0).")
    if seed < 0:
        raise DemoDataError(f"--seed must be 0 or more, not {seed}.")


def _ensure_empty() -> None:
    found = {
        "accounts": Account.objects.exists(),
        "deals": Deal.objects.exists(),
        "reps": Rep.objects.exists(),
        "territory models": TerritoryModel.objects.exists(),
        "products": Product.objects.exists() or ProductLine.objects.exists(),
        "campaigns": Campaign.objects.exists(),
    }
    present = [name for name, exists in found.items() if exists]
    if present:
        raise DemoDataError(
            f"seed_demo fills an empty database, but this one already has {', '.join(present)}. "
            "Use --if-empty to skip seeding, or point DATABASE_URL at a fresh database."
        )


# --- reference rows (ORM) ----------------------------------------------------------------------------


def _create_demo_users() -> dict[str, User]:
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL_ROLES)}
    specs = {
        "admin": {"is_staff": True, "is_superuser": True, "first_name": "Ada", "last_name": "Admin"},
        "manager": {"is_staff": True, "first_name": "Morgan", "last_name": "Manager"},
        "emea-manager": {"is_staff": True, "first_name": "Elena", "last_name": "Europe"},
        "integration": {"first_name": "CRM", "last_name": "Integration"},
    }
    users = {}
    for login in DEMO_LOGINS:
        if login.username not in specs:
            continue
        user, _ = User.objects.update_or_create(
            username=login.username,
            defaults={**specs[login.username], "email": f"{login.username}@territory-demo.example", "is_active": True},
        )
        user.set_password(login.password)
        user.save(update_fields=["password"])
        user.groups.add(groups[login.role])
        users[login.username] = user
    ManagerScope.objects.get_or_create(user=users["emea-manager"], territory_code="emea")
    return users


def _create_products() -> dict:
    lines = ProductLine.objects.bulk_create(ProductLine(code=code, name=name) for code, name, _ in ref.PRODUCT_LINES)
    line_by_code = {line.code: line for line in lines}
    products = Product.objects.bulk_create(
        Product(
            external_id=f"PRD-{sku}",
            sku=sku,
            name=name,
            product_line=line_by_code[code],
            list_price=Decimal(price),
        )
        for code, _, items in ref.PRODUCT_LINES
        for sku, name, price in items
    )
    line_weight = {code: ref.PRODUCT_LINE_WEIGHTS[code] / len(items) for code, _, items in ref.PRODUCT_LINES}
    weights = np.array([line_weight[p.product_line.code] for p in products])
    return {
        "ids": np.array([p.pk for p in products]),
        "names": np.array([p.name for p in products]),
        "prices": np.array([float(p.list_price) for p in products]),
        "weights": weights / weights.sum(),
        "lines": line_by_code,
    }


def _quarters() -> list[tuple[int, int]]:
    first, last = ref.ALIGNMENT_START, ref.ANCHOR_DATE
    return [
        (year, quarter)
        for year in range(first.year, last.year + 1)
        for quarter in range(1, 5)
        if (year, quarter) >= (first.year, (first.month - 1) // 3 + 1)
        and (year, quarter) <= (last.year, (last.month - 1) // 3 + 1)
    ]


def _create_campaigns(rng: np.random.Generator) -> dict:
    channels = list(ref.CAMPAIGN_CHANNEL_WEIGHTS)
    quarters = _quarters()
    budgets = rng.integers(5, 150, size=len(quarters) * len(channels)) * 1000
    rows = []
    for q_index, (year, quarter) in enumerate(quarters):
        starts = date(year, 3 * quarter - 2, 1)
        ends = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
        for c_index, channel in enumerate(channels):
            rows.append(
                Campaign(
                    external_id=f"CMP-{year}Q{quarter}-{channel.upper()}",
                    name=f"{year} Q{quarter} {ref.CAMPAIGN_THEMES[channel]}",
                    channel=channel,
                    starts_on=starts,
                    ends_on=ends,
                    budget=Decimal(int(budgets[q_index * len(channels) + c_index])),
                )
            )
    created = Campaign.objects.bulk_create(rows)
    weights = np.array(list(ref.CAMPAIGN_CHANNEL_WEIGHTS.values()))
    return {
        # ids[q, c] is the campaign of quarter q (index into quarters) on channel c
        "ids": np.array([c.pk for c in created]).reshape(len(quarters), len(channels)),
        "first_quarter": quarters[0][0] * 4 + quarters[0][1] - 1,
        "channel_weights": weights / weights.sum(),
    }


@dataclass
class RepSpec:
    key: str
    title: str
    seniority: int
    city: ref.City
    manager: str | None
    industries: list[str]
    segments: list[str]
    active: bool = True


def _city_named(name: str) -> ref.City:
    return next(city for city in ref.CITIES if city.name == name)


def _leaf_home(leaf: str) -> ref.City:
    return max((city for city in ref.CITIES if city.leaf == leaf), key=lambda city: city.weight)


def _geo_name(code: str) -> str:
    return next(name for c, name, *_ in ref.GEOGRAPHY if c == code)


def _geo_parent(code: str) -> str | None:
    return next(parent for c, _, parent, *_ in ref.GEOGRAPHY if c == code)


def _country_manager_of(leaf: str) -> str:
    parent = _geo_parent(leaf)
    return f"mgr-{parent}"  # US leaves sit under an area (mgr-us-west …), the others under their country


def _team_specs(rng: np.random.Generator) -> list[RepSpec]:
    """The sales team, field reps first so that rep1 … rep24 are the owners of the geographic leaves."""
    industries = [choice.value for choice in Industry]
    segment_pool = ["small", "mid", "enterprise", "B2B", "B2C"]

    def some_industries(k: int) -> list[str]:
        return sorted(industries[i] for i in rng.choice(len(industries), size=k, replace=False))

    def some_segments() -> list[str]:
        return sorted(segment_pool[i] for i in rng.choice(len(segment_pool), size=2, replace=False))

    specs = [
        RepSpec(
            f"ae-{leaf}",
            f"Account Executive, {_geo_name(leaf)}",
            int(rng.integers(1, 4)),
            _leaf_home(leaf),
            _country_manager_of(leaf),
            some_industries(3),
            some_segments(),
        )
        for leaf in ref.GEO_LEAVES
    ]
    specs += [
        RepSpec("vp-sales", "VP Sales", 4, _city_named("New York"), None, [], ["enterprise", "mid"]),
        RepSpec("dir-na", "Sales Director, North America", 4, _city_named("Chicago"), "vp-sales", [], ["enterprise"]),
        RepSpec("dir-emea", "Sales Director, Europe", 4, _city_named("London"), "vp-sales", [], ["enterprise"]),
    ]
    for country, city, director in (
        ("us", "New York", "dir-na"),
        ("ca", "Toronto", "dir-na"),
        ("gb", "London", "dir-emea"),
        ("de", "München", "dir-emea"),
        ("fr", "Paris", "dir-emea"),
    ):
        specs.append(
            RepSpec(f"mgr-{country}", f"Country Manager, {_geo_name(country)}", 4, _city_named(city), director, [], [])
        )
    for area, city in (("us-west", "San Francisco"), ("us-central", "Dallas"), ("us-east", "Boston")):
        specs.append(RepSpec(f"mgr-{area}", f"Area Manager, {_geo_name(area)}", 3, _city_named(city), "mgr-us", [], []))
    for leaf in ref.OWNER_HANDOVERS:
        specs.append(
            RepSpec(
                f"ae-{leaf}-former",
                f"Account Executive, {_geo_name(leaf)} (left)",
                int(rng.integers(1, 4)),
                _leaf_home(leaf),
                _country_manager_of(leaf),
                some_industries(2),
                some_segments(),
                active=False,
            )
        )
    for n, leaves in enumerate(_inside_sales_leaves(), start=1):
        director = "dir-na" if leaves[0].startswith(("us", "ca")) else "dir-emea"
        specs.append(
            RepSpec(f"isr-{n}", "Inside Sales Representative", 1, _leaf_home(leaves[0]), director, [], ["small", "B2B"])
        )
    for code, segment, city in (
        ("seg-enterprise", "enterprise", "New York"),
        ("seg-mid", "mid", "Chicago"),
        ("seg-smb", "small", "Austin"),
        ("seg-consumer", "B2C", "Los Angeles"),
    ):
        specs.append(
            RepSpec(f"lead-{code}", f"Segment Lead, {segment}", 3, _city_named(city), "vp-sales", [], [segment])
        )
    for code, name, group_industries, _ in ref.VERTICAL_GROUPS:
        specs.append(
            RepSpec(
                f"vs-{code}",
                f"Industry Specialist, {name}",
                3,
                _city_named("New York" if len(specs) % 2 else "London"),
                "vp-sales",
                sorted(group_industries),
                ["enterprise", "mid"],
            )
        )
    for code, name, _ in ref.PRODUCT_LINES:
        specs.append(
            RepSpec(f"ps-{code}", f"Product Specialist, {name}", 3, _city_named("San Francisco"), "vp-sales", [], [])
        )
    specs += [
        RepSpec("se-1", "Solutions Engineer", 2, _city_named("Seattle"), "vp-sales", ["technology"], ["mid"]),
        RepSpec("se-2", "Solutions Engineer", 2, _city_named("Berlin"), "vp-sales", ["financial_services"], ["mid"]),
        RepSpec("kad", "Key Account Director", 4, _city_named("New York"), "vp-sales", [], ["enterprise"]),
        RepSpec("kam-1", "Key Account Manager", 3, _city_named("Boston"), "kad", [], ["enterprise"]),
        RepSpec("kam-2", "Key Account Manager", 3, _city_named("Frankfurt am Main"), "kad", [], ["enterprise"]),
    ]
    return specs


def _inside_sales_leaves() -> list[tuple[str, ...]]:
    leaves = ref.GEO_LEAVES
    return [tuple(leaves[i : i + 4]) for i in range(0, len(leaves), 4)]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _create_team(rng: np.random.Generator, *, accounts: int) -> dict:
    specs = _team_specs(rng)
    n = len(specs)
    name_codes = rng.choice(len(ref.FIRST_NAMES) * len(ref.LAST_NAMES), size=n, replace=False)
    hire_offsets = rng.integers(30, 3000, size=n)
    # Capacity grows with the dataset so that a full team can cover it: about one geographic leaf per rep.
    scale = max(1.0, accounts / (len(ref.GEO_LEAVES) * 200))
    capacity_by_seniority = {1: 150, 2: 200, 3: 250, 4: 300}

    rep_group = Group.objects.get(name=roles.SALES_REP)
    password = make_password(REP_PASSWORD)  # one hash for all rep logins: hashing is deliberately slow
    users, reps = [], []
    for index, spec in enumerate(specs, start=1):
        first = ref.FIRST_NAMES[name_codes[index - 1] // len(ref.LAST_NAMES)]
        last = ref.LAST_NAMES[name_codes[index - 1] % len(ref.LAST_NAMES)]
        email = f"{_ascii(first)}.{_ascii(last)}@territory-demo.example".lower()
        users.append(
            User(
                username=f"rep{index}",
                first_name=first,
                last_name=last,
                email=email,
                password=password,
                is_active=spec.active,
            )
        )
        reps.append(
            Rep(
                external_id=f"REP-{index:04d}",
                name=f"{first} {last}",
                email=email,
                title=spec.title,
                seniority=spec.seniority,
                home_city=spec.city.name,
                home_region=spec.city.region,
                home_country=spec.city.country,
                home_latitude=Decimal(f"{spec.city.latitude:.6f}"),
                home_longitude=Decimal(f"{spec.city.longitude:.6f}"),
                industries=spec.industries,
                segments=spec.segments,
                capacity=int(round(capacity_by_seniority[spec.seniority] * scale, -1)),
                hire_date=ref.ALIGNMENT_START - timedelta(days=int(hire_offsets[index - 1])),
                is_active=spec.active,
            )
        )
    taken = set(User.objects.filter(username__in=[u.username for u in users]).values_list("username", flat=True))
    if taken:
        raise DemoDataError(f"Users {', '.join(sorted(taken))} already exist; seed_demo needs those names for reps.")
    User.objects.bulk_create(users)
    User.groups.through.objects.bulk_create(User.groups.through(user_id=u.pk, group_id=rep_group.pk) for u in users)
    for user, rep in zip(users, reps, strict=True):
        rep.user = user
    Rep.objects.bulk_create(reps)
    by_key = {spec.key: rep for spec, rep in zip(specs, reps, strict=True)}
    for spec, rep in zip(specs, reps, strict=True):
        rep.manager = by_key[spec.manager] if spec.manager else None
    Rep.objects.bulk_update(reps, ["manager"])
    return {"by_key": by_key}


# --- accounts and deals (numpy → COPY) -------------------------------------------------------------


def _day(value: date) -> int:
    return (value - date(1970, 1, 1)).days


def _weighted(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return weights / weights.sum()


def _generate_accounts(rng: np.random.Generator, n: int) -> dict:
    cities = ref.CITIES
    # spread the country share over its cities in proportion to their weights
    country_totals = {country: sum(c.weight for c in cities if c.country == country) for country in ref.COUNTRY_WEIGHTS}
    city_weights = _weighted([ref.COUNTRY_WEIGHTS[c.country] * c.weight / country_totals[c.country] for c in cities])
    city_index = rng.choice(len(cities), size=n, p=city_weights)

    industries = list(ref.INDUSTRY_PROFILE)
    industry_index = rng.choice(len(industries), size=n, p=_weighted([p[0] for p in ref.INDUSTRY_PROFILE.values()]))
    b2c_share = np.array([p[1] for p in ref.INDUSTRY_PROFILE.values()])[industry_index]
    is_b2c = rng.random(n) < b2c_share

    employees = np.clip(np.rint(np.exp(rng.normal(np.log(35), 1.7, size=n))), 1, 250_000).astype(np.int64)
    revenue_per_employee = np.array([p[2] for p in ref.INDUSTRY_PROFILE.values()])[industry_index]
    revenue = np.rint(employees * revenue_per_employee * rng.lognormal(0.0, 0.4, size=n) / 1000) * 1000
    revenue = np.maximum(revenue, 10_000).astype(np.int64)
    # A CRM always has gaps: some accounts without headcount, revenue or geocode.
    employees_missing = rng.random(n) < 0.015
    revenue_missing = employees_missing | (rng.random(n) < 0.02)
    geocode_missing = rng.random(n) < 0.005

    latitude = np.array([c.latitude for c in cities])[city_index] + rng.normal(0, 0.045, size=n)
    longitude = np.array([c.longitude for c in cities])[city_index] + rng.normal(0, 0.065, size=n)
    postal = _generate_postal_codes(rng, city_index)

    starts = np.array(ref.NAME_STARTS)[rng.integers(0, len(ref.NAME_STARTS), size=n)]
    ends = np.array(ref.NAME_ENDS)[rng.integers(0, len(ref.NAME_ENDS), size=n)]
    noun_pick = rng.integers(0, 4, size=n)
    suffix_pick = rng.integers(0, 4, size=n)
    country_codes = np.array([c.country for c in cities])[city_index]
    names = [
        f"{s}{e} {ref.INDUSTRY_NOUNS[industries[i]][k]} {ref.LEGAL_SUFFIXES[c][x % len(ref.LEGAL_SUFFIXES[c])]}"
        for s, e, i, k, c, x in zip(
            starts.tolist(),
            ends.tolist(),
            industry_index.tolist(),
            noun_pick.tolist(),
            country_codes.tolist(),
            suffix_pick.tolist(),
            strict=True,
        )
    ]
    created_day = _day(ref.ALIGNMENT_START) - rng.integers(0, 1500, size=n)
    return {
        "n": n,
        "ids": np.arange(1, n + 1, dtype=np.int64),
        "names": np.array(names, dtype=object),
        "city_index": city_index,
        "leaf_index": np.array([ref.GEO_LEAVES.index(c.leaf) for c in cities])[city_index],
        "industry": np.array(industries)[industry_index],
        "business_type": np.where(is_b2c, "B2C", "B2B"),
        "employees": np.where(employees_missing, -1, employees),
        "revenue": np.where(revenue_missing, -1, revenue),
        "latitude": np.where(geocode_missing, np.nan, np.round(latitude, 6)),
        "longitude": np.where(geocode_missing, np.nan, np.round(longitude, 6)),
        "postal": postal,
        "created_day": created_day,
    }


def _generate_postal_codes(rng: np.random.Generator, city_index: np.ndarray) -> np.ndarray:
    """Codes in each country's real format, starting with a prefix that belongs to the city."""
    postal = np.empty(len(city_index), dtype=object)
    for index, city in enumerate(ref.CITIES):
        rows = np.flatnonzero(city_index == index)
        if not len(rows):
            continue
        prefixes = np.array(city.postal_prefixes, dtype=object)[rng.integers(0, len(city.postal_prefixes), len(rows))]
        if city.country in ("US", "DE", "FR"):
            codes = [
                p + str(d).zfill(5 - len(p)) for p, d in zip(prefixes, rng.integers(0, 10**5, len(rows)), strict=True)
            ]
            codes = [code[:5] for code in codes]
        elif city.country == "CA":
            letters = np.array(list(ref.CA_LETTERS))[rng.integers(0, len(ref.CA_LETTERS), len(rows))]
            digits = rng.integers(0, 10, size=(len(rows), 2))
            codes = [f"{p} {a}{b}{c}" for p, a, b, c in zip(prefixes, digits[:, 0], letters, digits[:, 1], strict=True)]
        else:  # GB
            letters = np.array(list(ref.GB_INWARD_LETTERS))[rng.integers(0, len(ref.GB_INWARD_LETTERS), (len(rows), 2))]
            digits = rng.integers(0, 10, size=len(rows))
            codes = [
                f"{p} {d}{a}{b}" for p, d, a, b in zip(prefixes, digits, letters[:, 0], letters[:, 1], strict=True)
            ]
        postal[rows] = codes
    return postal


def _daily_close_weights() -> tuple[np.ndarray, np.ndarray]:
    """Days a deal may be due to close (three years of history plus two quarters ahead), weighted by season."""
    first, last = _day(ref.HISTORY_START), _day(ref.ANCHOR_DATE) + 182
    days = np.arange(first, last + 1)
    as_dates = days.astype("datetime64[D]")
    month = as_dates.astype("datetime64[M]").astype(int) % 12  # 0 = January
    # Q4 is the budget-flush peak; each quarter's last month gets the end-of-quarter push.
    month_factor = np.array([0.70, 0.80, 1.10, 0.80, 0.90, 1.15, 0.75, 0.75, 1.15, 1.00, 1.25, 1.60])[month]
    growth = 1.0 + 0.12 * (days - first) / 365.0
    next_month_start = (as_dates.astype("datetime64[M]") + 1).astype("datetime64[D]").astype(int)
    quarter_end_push = np.where((month % 3 == 2) & (next_month_start - days <= 10), 1.5, 1.0)
    weekday = (days + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    weekend = np.where(weekday >= 5, 0.15, 1.0)
    return days, _weighted(month_factor * growth * quarter_end_push * weekend)


def _generate_deals(
    rng: np.random.Generator, n: int, account_columns: dict, *, products: dict, campaigns: dict, team: dict
) -> dict:
    anchor = _day(ref.ANCHOR_DATE)
    n_accounts = account_columns["n"]
    if n == 0:
        return {"n": 0}
    employees = account_columns["employees"]
    known_employees = np.where(employees < 0, 20, employees)
    # Bigger accounts buy more, and engagement varies a lot: many accounts never get a deal.
    account_weights = _weighted(np.power(known_employees, 0.45) * rng.lognormal(0.0, 1.3, size=n_accounts))
    account_index = rng.choice(n_accounts, size=n, p=account_weights)
    deal_employees = known_employees[account_index]

    days, day_weights = _daily_close_weights()
    due = rng.choice(days, size=n, p=day_weights)
    # Sales cycles lengthen with company size.
    cycle_mean = np.select([deal_employees >= 1000, deal_employees >= 50], [130.0, 70.0], 35.0)
    cycle = np.rint(rng.gamma(2.0, cycle_mean / 2.0)).astype(np.int64)
    created = due - cycle
    # Nothing predates the alignment: a cycle that would start earlier starts somewhere after it instead.
    too_early = created < _day(ref.ALIGNMENT_START)
    since_start = due - _day(ref.ALIGNMENT_START)
    created = np.where(too_early, due - np.floor(rng.random(n) * (since_start + 1)).astype(np.int64), created)
    is_open = due > anchor
    # An open deal cannot have been created in the future: those were opened in the last two months.
    future = is_open & (created > anchor)
    created = np.where(future, anchor - rng.integers(0, 60, size=n), created)

    # Owner of the account's geographic leaf on the day the deal was created.
    by_key = team["by_key"]
    leaf_index = account_columns["leaf_index"][account_index]
    current_owner = np.array([by_key[f"ae-{leaf}"].pk for leaf in ref.GEO_LEAVES])
    former_owner = np.array([by_key.get(f"ae-{leaf}-former", by_key[f"ae-{leaf}"]).pk for leaf in ref.GEO_LEAVES])
    handover = np.array([_day(ref.OWNER_HANDOVERS.get(leaf, ref.ALIGNMENT_START)) for leaf in ref.GEO_LEAVES])
    rep_id = np.where(created < handover[leaf_index], former_owner[leaf_index], current_owner[leaf_index])
    seniority_by_rep = {rep.pk: rep.seniority for rep in by_key.values()}
    seniority = np.vectorize(seniority_by_rep.get, otypes=[np.int64])(rep_id)

    product_pick = rng.choice(len(products["ids"]), size=n, p=products["weights"])
    size_factor = np.clip(np.power(1 + deal_employees / 500.0, 0.7) * rng.lognormal(0.0, 0.35, size=n), 0.25, 60)
    amount = np.maximum(np.rint(products["prices"][product_pick] * size_factor), 100).astype(np.int64)

    has_campaign = rng.random(n) < 0.55
    channel = rng.choice(campaigns["ids"].shape[1], size=n, p=campaigns["channel_weights"])
    created_month = created.astype("datetime64[D]").astype("datetime64[M]").astype(int)  # months since 1970-01
    quarter = (created_month // 12 + 1970) * 4 + (created_month % 12) // 3 - campaigns["first_quarter"]
    in_range = has_campaign & (quarter >= 0) & (quarter < campaigns["ids"].shape[0])
    campaign_id = np.where(in_range, campaigns["ids"][np.clip(quarter, 0, campaigns["ids"].shape[0] - 1), channel], -1)

    win_chance = np.clip(0.22 + 0.05 * seniority - 0.06 * (deal_employees >= 1000) + 0.05 * in_range, 0.05, 0.9)
    won = ~is_open & (rng.random(n) < win_chance)
    lost = ~is_open & ~won

    # Open deals sit at the stage their elapsed share of the cycle suggests.
    elapsed = (anchor - created) / np.maximum(due - created, 1)
    open_stage = np.clip((elapsed * 4).astype(np.int64), 0, 3)
    stage = np.where(won, 4, np.where(lost, 5, open_stage))
    stage_probability = np.array([10, 25, 50, 75, 100, 0])[stage]
    jitter = np.where(is_open, rng.integers(-5, 6, size=n), 0)
    probability = np.clip(stage_probability + jitter, 0, 100)
    # Some open deals have slipped past their expected close date, as in any real pipeline.
    slipped = is_open & (rng.random(n) < 0.06)
    expected = np.where(slipped, np.maximum(anchor - rng.integers(1, 46, size=n), created), due)

    order = np.lexsort((account_index, created))  # ids follow creation dates
    columns = {
        "n": n,
        "account_index": account_index[order],
        "product_pick": product_pick[order],
        "rep_id": rep_id[order],
        "campaign_id": campaign_id[order],
        "amount": amount[order],
        "stage": stage[order],
        "probability": probability[order],
        "created": created[order],
        "expected": np.where(is_open, expected, -1)[order],
        "closed": np.where(is_open, -1, due)[order],
    }
    columns["ids"] = np.arange(1, n + 1, dtype=np.int64)
    columns["product_id"] = products["ids"][columns["product_pick"]]
    product_names = products["names"][columns["product_pick"]].tolist()
    account_names = account_columns["names"][columns["account_index"]].tolist()
    columns["names"] = np.array(
        [f"{product} – {account}" for product, account in zip(product_names, account_names, strict=True)], dtype=object
    )
    return columns


def _derive_account_status(account_columns: dict, deal_columns: dict) -> None:
    """Customers have won a deal; churned ones have not won in 18 months and have nothing open."""
    n = account_columns["n"]
    status = np.full(n, "prospect", dtype=object)
    customer_since = np.full(n, -1, dtype=np.int64)
    if deal_columns["n"]:
        account_index, stage = deal_columns["account_index"], deal_columns["stage"]
        won = stage == 4
        far_future = np.iinfo(np.int64).max
        first_won = np.full(n, far_future, dtype=np.int64)
        last_won = np.full(n, -1, dtype=np.int64)
        np.minimum.at(first_won, account_index[won], deal_columns["closed"][won])
        np.maximum.at(last_won, account_index[won], deal_columns["closed"][won])
        open_count = np.bincount(account_index[stage <= 3], minlength=n)
        has_won = last_won >= 0
        churned = has_won & (last_won < _day(ref.ANCHOR_DATE) - 540) & (open_count == 0)
        status = np.where(churned, "churned", np.where(has_won, "customer", "prospect")).astype(object)
        customer_since = np.where(has_won, first_won, -1)
    account_columns["status"] = status
    account_columns["customer_since"] = customer_since


NULL = r"\N"


def _int_text(values: np.ndarray) -> np.ndarray:
    return np.where(values < 0, NULL, values.astype(str)).astype(object)


def _date_text(days: np.ndarray) -> np.ndarray:
    text = days.astype("datetime64[D]").astype(str).astype(object)
    return np.where(days < 0, NULL, text)


def _timestamp_text(days: np.ndarray, clock: str) -> np.ndarray:
    return days.astype("datetime64[D]").astype(str).astype(object) + f" {clock}+00"


def _float_text(values: np.ndarray) -> np.ndarray:
    text = np.char.mod("%.6f", np.nan_to_num(values)).astype(object)
    return np.where(np.isnan(values), NULL, text)


@contextmanager
def _indexes_and_foreign_keys_deferred(table: str):
    """Drop table's secondary indexes and foreign keys for a bulk load, then rebuild them the same way.

    PostgreSQL's advice for populating a table: building an index once and validating a foreign key in one
    join is far cheaper than maintaining them row by row. Primary keys and unique constraints stay.
    This runs inside the seeding transaction, so the definitions come back (or nothing happened).
    """
    with connection.cursor() as cursor:
        # ALTER TABLE refuses tables with deferred checks still pending (the reference rows just inserted):
        # run those checks now, and defer again afterwards.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
            "AND c.conrelid = %s::regclass) ORDER BY i.indexname",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # sort each index in memory; this transaction only
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _copy(table: str, columns: dict[str, np.ndarray]) -> None:
    """COPY the columns (equal-length arrays of text, NULL for missing) into table in chunks."""
    names = list(columns)
    total = len(next(iter(columns.values())))
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's cursor under Django's wrapper
        for start in range(0, total, COPY_CHUNK_ROWS):
            chunk = [columns[name][start : start + COPY_CHUNK_ROWS].tolist() for name in names]
            buffer = io.StringIO("\n".join(map("\t".join, zip(*chunk, strict=True))) + "\n")
            raw.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN", buffer)


def _copy_accounts(a: dict) -> None:
    if not a["n"]:
        return
    city_index = a["city_index"]
    cities = ref.CITIES
    created_at = _timestamp_text(a["created_day"], "08:00:00")
    _copy(
        "accounts_account",
        {
            "id": a["ids"].astype(str).astype(object),
            "created_at": created_at,
            "updated_at": created_at,
            "external_id": np.char.add("ACC-", np.char.zfill(a["ids"].astype(str), 7)).astype(object),
            "name": a["names"],
            "industry": a["industry"].astype(object),
            "employees": _int_text(a["employees"]),
            "annual_revenue": _int_text(a["revenue"]),
            "business_type": a["business_type"].astype(object),
            "country": np.array([c.country for c in cities], dtype=object)[city_index],
            "region": np.array([c.region for c in cities], dtype=object)[city_index],
            "city": np.array([c.name for c in cities], dtype=object)[city_index],
            "postal_code": a["postal"],
            "latitude": _float_text(a["latitude"]),
            "longitude": _float_text(a["longitude"]),
            "status": a["status"],
            "customer_since": _date_text(a["customer_since"]),
        },
    )


def _copy_deals(d: dict) -> None:
    if not d["n"]:
        return
    stages = np.array(["prospecting", "qualification", "proposal", "negotiation", "won", "lost"], dtype=object)
    updated_day = np.where(d["closed"] >= 0, d["closed"], np.maximum(d["created"], _day(ref.ANCHOR_DATE)))
    _copy(
        "accounts_deal",
        {
            "id": d["ids"].astype(str).astype(object),
            "created_at": _timestamp_text(d["created"], "09:00:00"),
            "updated_at": _timestamp_text(updated_day, "17:00:00"),
            "external_id": np.char.add("DEAL-", np.char.zfill(d["ids"].astype(str), 8)).astype(object),
            "name": d["names"],
            "account_id": (d["account_index"] + 1).astype(str).astype(object),
            "product_id": d["product_id"].astype(str).astype(object),
            "rep_id": d["rep_id"].astype(str).astype(object),
            "campaign_id": _int_text(d["campaign_id"]),
            "amount": d["amount"].astype(str).astype(object),
            "stage": stages[d["stage"]],
            "probability": d["probability"].astype(str).astype(object),
            "created_on": _date_text(d["created"]),
            "expected_close_on": _date_text(d["expected"]),
            "closed_on": _date_text(d["closed"]),
        },
    )


def _reset_sequences() -> None:
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Account, Deal]):
            cursor.execute(statement)


# --- the alignment ----------------------------------------------------------------------------------


def _create_alignment(*, team: dict, account_columns: dict, admin: User) -> None:
    start = ref.ALIGNMENT_START
    model = TerritoryModel.objects.create(
        code="demo-alignment",
        name="Demo alignment",
        state=TerritoryModelState.ACTIVE,
        description="Generated by seed_demo: geography, segments, verticals, product specialists and key accounts.",
        created_by=admin,
        effective_from=start,
        activated_at=datetime(start.year, start.month, start.day, tzinfo=UTC),
    )
    territories: dict[str, Territory] = {}
    rules: list[tuple[TerritoryRule, list[dict]]] = []
    trees = (
        (TerritoryKind.GEOGRAPHIC, ref.GEOGRAPHY),
        (TerritoryKind.SEGMENT, ref.SEGMENTS),
        (TerritoryKind.VERTICAL, ref.VERTICALS),
        (TerritoryKind.PRODUCT, ref.PRODUCTS_TREE),
    )
    for kind, tree in trees:
        for code, name, parent, priority, tier, territory_rules in tree:
            # One by one, parents first: the closure triggers fire per insert.
            territory = Territory.objects.create(
                territory_model=model,
                code=code,
                name=name,
                kind=kind,
                parent=territories[parent] if parent else None,
                priority=priority,
                value_tier=tier,
            )
            territories[code] = territory
            for position, criteria in enumerate(territory_rules):
                rules.append(
                    (TerritoryRule(territory=territory, name=f"{name} #{position + 1}", position=position), criteria)
                )
    territories[ref.KEY_ACCOUNTS_CODE] = Territory.objects.create(
        territory_model=model,
        code=ref.KEY_ACCOUNTS_CODE,
        name="Key accounts",
        kind=TerritoryKind.ACCOUNT,
        priority=100,
        value_tier=1,
        description="The largest accounts by annual revenue, worked by the key account team.",
    )
    TerritoryRule.objects.bulk_create(rule for rule, _ in rules)
    RuleCriterion.objects.bulk_create(
        RuleCriterion(
            rule=rule,
            field=criterion["field"],
            operator=criterion.get("operator", "in"),
            values=criterion.get("values", []),
            min_value=_decimal_or_none(criterion.get("min_value")),
            max_value=_decimal_or_none(criterion.get("max_value")),
            range_start=criterion.get("range_start", ""),
            range_end=criterion.get("range_end", ""),
        )
        for rule, criteria in rules
        for criterion in criteria
    )
    _create_named_accounts(territories[ref.KEY_ACCOUNTS_CODE], account_columns)
    _create_assignments(territories, team["by_key"])


def _decimal_or_none(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _create_named_accounts(territory: Territory, a: dict) -> None:
    count = min(a["n"], max(1, a["n"] // 400), 250)
    if not count:
        return
    revenue = a["revenue"]
    top = np.lexsort((a["ids"], -revenue))[:count]  # largest revenue first, ties by id
    NamedAccount.objects.bulk_create(NamedAccount(territory=territory, account_id=int(a["ids"][i])) for i in top)


def _create_assignments(territories: dict[str, Territory], by_key: dict[str, Rep]) -> None:
    start = ref.ALIGNMENT_START
    rows: list[RepAssignment] = []

    def assign(key: str, code: str, role: str, begin: date = start, end: date | None = None, allocation: int = 100):
        rows.append(
            RepAssignment(
                rep=by_key[key],
                territory=territories[code],
                role=role,
                start_date=begin,
                end_date=end,
                allocation_percent=allocation,
            )
        )

    owner, overlay, support = AssignmentRole.OWNER, AssignmentRole.OVERLAY, AssignmentRole.SUPPORT
    for code in ("global", "seg-all", "vert-all", "prod-all"):
        assign("vp-sales", code, owner, allocation=25)
    assign("dir-na", "na", owner)
    assign("dir-emea", "emea", owner)
    for country in ("us", "ca", "gb", "de", "fr"):
        assign(f"mgr-{country}", country, owner)
    for area in ("us-west", "us-central", "us-east"):
        assign(f"mgr-{area}", area, owner)
    for leaf in ref.GEO_LEAVES:
        handover = ref.OWNER_HANDOVERS.get(leaf)
        if handover:
            assign(f"ae-{leaf}-former", leaf, owner, end=handover - timedelta(days=1))
            assign(f"ae-{leaf}", leaf, owner, begin=handover)
        else:
            assign(f"ae-{leaf}", leaf, owner)
    for n, leaves in enumerate(_inside_sales_leaves(), start=1):
        for leaf in leaves:
            assign(f"isr-{n}", leaf, support, allocation=25)
    for code in ("seg-enterprise", "seg-mid", "seg-smb", "seg-consumer"):
        assign(f"lead-{code}", code, owner)
    for code, *_ in ref.VERTICAL_GROUPS:
        assign(f"vs-{code}", code, owner)
    for code, *_ in ref.PRODUCT_LINES:
        assign(f"ps-{code}", f"prod-{code}", owner)
    for code in ("prod-platform", "prod-analytics", "prod-security"):
        assign("se-1", code, overlay, allocation=30)
    for code in ("prod-payments", "prod-services"):
        assign("se-2", code, overlay, allocation=50)
    assign("kad", ref.KEY_ACCOUNTS_CODE, owner)
    assign("kam-1", ref.KEY_ACCOUNTS_CODE, overlay, allocation=50)
    assign("kam-2", ref.KEY_ACCOUNTS_CODE, overlay, allocation=50)
    RepAssignment.objects.bulk_create(rows)
