"""The KPI catalogue (the data migration kpis/0002 installs a frozen copy; kpi_catalogue_sync re-applies it).

How each KPI follows from its period's stored figures is the KpiRollup view's (migration kpis/0014): a
KPI added here needs a migration that adds it to the view."""

ALL_KINDS = ["geographic", "segment", "product", "vertical", "account"]
# Product territories measure deals, not customers: accounts belong to their parent territory.
NOT_PRODUCT = ["geographic", "segment", "vertical", "account"]

CATALOGUE = [
    # code, name, unit, decimals, higher_is_better, default_for_kinds, description
    ("revenue", "Revenue", "currency", 0, True, ALL_KINDS, "Sum of the amounts of deals won in the period."),
    ("deals_won", "Deals won", "count", 0, True, ALL_KINDS, "Number of deals won in the period."),
    (
        "average_deal_size",
        "Average deal size",
        "currency",
        0,
        True,
        ALL_KINDS,
        "Revenue / deals won; empty without won deals.",
    ),
    (
        "win_rate",
        "Win rate",
        "ratio",
        1,
        True,
        ALL_KINDS,
        "Won / (won + lost) deals closed in the period; empty when none closed.",
    ),
    (
        "revenue_growth",
        "Revenue growth",
        "ratio",
        1,
        True,
        ALL_KINDS,
        "Change of revenue against the preceding period of the same length; empty when that was 0.",
    ),
    (
        "new_customers",
        "New customers",
        "count",
        0,
        True,
        NOT_PRODUCT,
        "Accounts whose first won deal of the territory closed in the period.",
    ),
    (
        "market_penetration",
        "Market penetration",
        "ratio",
        1,
        True,
        NOT_PRODUCT,
        "Share of the territory's accounts with a won deal by the end of the period.",
    ),
    (
        "pipeline_value",
        "Pipeline value",
        "currency",
        0,
        True,
        ALL_KINDS,
        "Sum of open deals expected to close in the period.",
    ),
    (
        "weighted_pipeline",
        "Weighted pipeline",
        "currency",
        0,
        True,
        ALL_KINDS,
        "Open deals expected to close in the period, each times its probability.",
    ),
    (
        "lead_conversion",
        "Lead conversion",
        "ratio",
        1,
        True,
        ALL_KINDS,
        "Share of the deals created in the period that are now won.",
    ),
    (
        "quota_attainment",
        "Quota attainment",
        "ratio",
        1,
        True,
        ALL_KINDS,
        "Revenue / revenue target; empty without a target or when it is 0.",
    ),
]
