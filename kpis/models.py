from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.access import CatalogQuerySet, TerritoryScopedQuerySet
from core.models import BackgroundRun
from kpis.choices import BreakdownDimension, KpiUnit, PeriodType, RollupView
from territories.choices import TerritoryKind, TerritoryModelState

# A period is (period_type, period_start); the start must be the first day of a real period.
VALID_PERIOD_START = Q(period_start__day=1) & (
    Q(period_type=PeriodType.MONTH)
    | Q(period_type=PeriodType.QUARTER, period_start__month__in=[1, 4, 7, 10])
    | Q(period_type=PeriodType.YEAR, period_start__month=1)
)


def validate_period(period_type: str, period_start) -> None:
    if period_start is None or period_type not in PeriodType.values:
        return
    if period_start.day != 1:
        raise ValidationError({"period_start": "A period starts on the first day of a month."})
    if period_type == PeriodType.QUARTER and period_start.month not in (1, 4, 7, 10):
        raise ValidationError({"period_start": "A quarter starts on 1 January, April, July or October."})
    if period_type == PeriodType.YEAR and period_start.month != 1:
        raise ValidationError({"period_start": "A year starts on 1 January."})


class KpiDefinition(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    unit = models.CharField(max_length=10, choices=KpiUnit.choices)
    decimals = models.PositiveSmallIntegerField(default=0)
    higher_is_better = models.BooleanField(default=True)
    default_for_kinds = ArrayField(
        models.CharField(max_length=12, choices=TerritoryKind.choices),
        blank=True,
        default=list,
        help_text="Territory kinds that track this KPI unless configured otherwise.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["position", "code"]
        verbose_name = "KPI definition"

    def __str__(self):
        return self.name

    @property
    def entered_in_percent(self) -> bool:
        """Ratios are stored as fractions (0.45) and typed and shown in percent (45 %) on pages."""
        return self.unit == KpiUnit.RATIO

    def target_from_typed(self, typed: Decimal) -> Decimal:
        """A value typed on a page → the stored target (to the 4 places a target keeps)."""
        return (typed / 100 if self.entered_in_percent else typed).quantize(Decimal("0.0001"))

    def target_to_typed(self, stored: Decimal) -> str:
        """A stored target → what a page's field shows (no trailing zeros, no exponent)."""
        typed = stored * 100 if self.entered_in_percent else stored
        return format(typed.normalize(), "f")

    def target_problem(self, value, *, typed_in_percent: bool = False) -> str | None:
        """Why a target (a stored value: a fraction for ratios) cannot be, or None — the one rule for pages,
        the API and the admin; typed_in_percent words the hint for a page's field."""
        if value < 0:
            return "A target cannot be negative."
        if self.code in SHARE_KPIS and value > 1:
            example = "enter 45 for 45 %" if typed_in_percent else "0.45 is 45 %"
            return f"{self.name} is a share and cannot exceed 100 % ({example})."
        return None


ARCHIVED_TARGET_MESSAGE = "This territory belongs to an archived alignment: history, its targets stay as they were."


def target_territory_problem(territory) -> str | None:
    """Why no target may be set on this territory, or None (one rule for pages, the API and the admin)."""
    return ARCHIVED_TARGET_MESSAGE if territory.territory_model.state == TerritoryModelState.ARCHIVED else None


# Shares of a whole: their targets lie between 0 and 100 % (growth and attainment can exceed 100 %).
SHARE_KPIS = frozenset({"win_rate", "market_penetration", "lead_conversion"})


class TerritoryKpi(models.Model):
    """A KPI a territory tracks (overriding the defaults for its kind), by territory code."""

    territory = models.ForeignKey("territories.Territory", on_delete=models.CASCADE, related_name="tracked_kpis")
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="+")
    tracked = models.BooleanField(default=True)

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["territory", "kpi"], name="territory_kpi_unique")]
        verbose_name = "tracked KPI"

    def __str__(self):
        return f"{self.territory.code}: {self.kpi.code}"


class KpiTarget(models.Model):
    territory = models.ForeignKey("territories.Territory", on_delete=models.PROTECT, related_name="kpi_targets")
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.PROTECT, related_name="targets")
    period_type = models.CharField(max_length=10, choices=PeriodType.choices)
    period_start = models.DateField()
    value = models.DecimalField(max_digits=18, decimal_places=4)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        ordering = ["territory", "kpi", "period_type", "period_start"]
        verbose_name = "KPI target"
        constraints = [
            models.UniqueConstraint(
                fields=["territory", "kpi", "period_type", "period_start"], name="kpi_target_unique"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="kpi_target_not_negative"),
            models.CheckConstraint(condition=VALID_PERIOD_START, name="kpi_target_valid_period"),
        ]

    def __str__(self):
        return f"{self.territory.code} {self.kpi.code} {self.period_type} {self.period_start}: {self.value}"

    def clean(self):
        if self.value is not None and self.kpi_id is not None and (problem := self.kpi.target_problem(self.value)):
            raise ValidationError({"value": problem})
        if self.territory_id is not None and (problem := target_territory_problem(self.territory)):
            raise ValidationError({"territory": problem})
        validate_period(self.period_type, self.period_start)


class KpiFigure(models.Model):
    """The figures of one territory, view and period, from which every KPI of that period follows (the
    KpiRollup view unpivots them). Pages and the API read KpiRollup; only the recompute and the delta write
    these. One row per territory × view × period instead of one per KPI: a full recompute writes and indexes
    eleven times fewer rows (docs/KPIS.md, "Stored as figures")."""

    # Derived rows, bulk-swapped by the recompute: no database FK constraint, so an insert of many rows is
    # not followed by a per-row referential check (the ORM still cascades deletes).
    territory = models.ForeignKey(
        "territories.Territory",
        on_delete=models.CASCADE,
        related_name="kpi_figures",
        db_constraint=False,
        db_index=False,  # kpi_figure_unique starts with territory
    )
    view = models.CharField(max_length=10, choices=RollupView.choices, default=RollupView.AS_OF)
    period_type = models.CharField(max_length=10, choices=PeriodType.choices)
    period_start = models.DateField()
    revenue = models.DecimalField(max_digits=20, decimal_places=2, default=0, help_text="Won deals' amount.")
    won = models.IntegerField(default=0, help_text="Deals won.")
    lost = models.IntegerField(default=0, help_text="Deals lost.")
    pipeline = models.DecimalField(max_digits=20, decimal_places=2, default=0, help_text="Open deals' amount.")
    weighted = models.DecimalField(
        max_digits=20, decimal_places=4, default=0, help_text="Open deals' amount × probability / 100."
    )
    created = models.IntegerField(default=0, help_text="Deals created in the period.")
    created_won = models.IntegerField(default=0, help_text="Of those, the deals won since.")
    new_customers = models.IntegerField(default=0)
    accounts_end = models.IntegerField(default=0, help_text="Accounts measured at the period's end.")
    penetrated_end = models.IntegerField(default=0, help_text="Of those, accounts with a won deal by then.")
    previous_revenue = models.DecimalField(
        max_digits=20, decimal_places=2, null=True, blank=True, help_text="Revenue of the period before."
    )
    target = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True, help_text="The revenue target (set or derived)."
    )
    computed_at = models.DateTimeField()

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        ordering = ["territory", "view", "period_type", "period_start"]
        verbose_name = "KPI figures"
        verbose_name_plural = "KPI figures"
        constraints = [
            models.UniqueConstraint(
                # The start before the text columns: the recompute's key build compares text only among
                # the rows of one start.
                fields=["territory", "period_start", "period_type", "view"],
                name="kpi_figure_unique",
            ),
            models.CheckConstraint(condition=VALID_PERIOD_START, name="kpi_figure_valid_period"),
        ]
        # One period's rows across territories (dashboards, rankings); partitions are per view.
        indexes = [models.Index(fields=["period_start", "period_type"], name="kpi_figure_period_idx")]

    def __str__(self):
        return f"{self.territory_id} {self.view} {self.period_type} {self.period_start}"


class KpiRollup(models.Model):
    """A KPI value: a database view over KpiFigure, one row per figures row and catalogue KPI (migration
    kpis/0014). Pages and the API read these; nothing writes them (write KpiFigure).

    id = figure id × 16 + the KPI's position in the catalogue; look rows up by figure and position
    (`rollup_id_filter`), which the figures' key serves, not by the computed id."""

    id = models.BigIntegerField(primary_key=True)
    figure = models.ForeignKey(KpiFigure, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    position = models.PositiveSmallIntegerField()
    territory = models.ForeignKey(
        "territories.Territory", on_delete=models.DO_NOTHING, related_name="kpi_rollups", db_constraint=False
    )
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.DO_NOTHING, related_name="rollups", db_constraint=False)
    view = models.CharField(max_length=10, choices=RollupView.choices, default=RollupView.AS_OF)
    period_type = models.CharField(max_length=10, choices=PeriodType.choices)
    period_start = models.DateField()
    value = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True, help_text="Empty when undefined."
    )
    numerator = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    denominator = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    computed_at = models.DateTimeField()

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "kpis_kpirollup"
        ordering = ["territory", "kpi", "view", "period_type", "period_start"]
        verbose_name = "KPI rollup"

    def __str__(self):
        return f"{self.territory.code} {self.kpi.code} {self.view} {self.period_type} {self.period_start}"


def rollup_id_filter(pk) -> Q:
    """The KpiRollup with this id, as a condition the figures' primary key serves (the view's id is
    computed, so `id = …` alone would unpivot every figures row)."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return Q(pk__in=[])
    return Q(figure_id=number // 16, position=number % 16, pk=number)


class RollupDirty(models.Model):
    """A territory whose rollups need recomputing, recorded in the same transaction as the change.

    The broker alone can lose or duplicate messages; a beat sweep re-enqueues what is still here.
    """

    territory = models.OneToOneField("territories.Territory", on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(auto_now_add=True)
    targets_only = models.BooleanField(
        db_default=False,  # the statement triggers and bulk markers insert rows without it
        help_text="Only its targets changed: the flush sets its figures' targets instead of recomputing them.",
    )
    exact = models.BooleanField(
        db_default=False,  # the statement triggers and bulk markers insert rows without it: expanded
        help_text="Only this territory's figures changed, not its ancestors' (an account moved between two "
        "territories below them): the flush recomputes it without adding its ancestors.",
    )

    def __str__(self):
        return f"{self.territory.code} dirty since {self.since:%Y-%m-%d %H:%M}"


class RecomputeRun(BackgroundRun):
    territory = models.ForeignKey(
        "territories.Territory", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    view = models.CharField(max_length=10, choices=RollupView.choices, blank=True, default="")

    class Meta(BackgroundRun.Meta):
        pass


class KpiCampaignRollup(models.Model):
    """Won revenue of a territory by campaign and period (no campaign = empty), written with the rollups."""

    # No database FK constraints, as on KpiRollup.
    territory = models.ForeignKey(
        "territories.Territory", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    campaign = models.ForeignKey(
        "accounts.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    view = models.CharField(max_length=10, choices=RollupView.choices, default=RollupView.AS_OF)
    period_type = models.CharField(max_length=10, choices=PeriodType.choices)
    period_start = models.DateField()
    revenue = models.DecimalField(max_digits=20, decimal_places=2)
    deals_won = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        ordering = ["territory", "view", "period_type", "period_start", "campaign"]
        verbose_name = "campaign revenue rollup"
        constraints = [
            models.UniqueConstraint(
                fields=["territory", "period_start", "campaign", "period_type", "view"],
                name="kpi_campaign_rollup_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=VALID_PERIOD_START, name="kpi_campaign_rollup_valid_period"),
        ]

    def __str__(self):
        return f"{self.territory_id} {self.campaign_id} {self.view} {self.period_type} {self.period_start}"


class KpiBreakdownRollup(models.Model):
    """A territory's figures for one period split by one dimension, written with the rollups.

    stage: open deals with expected_close_on in the period (deals, amount, weighted = amount × probability
    / 100), the deals of the pipeline_value KPI; key `stage`. product_line: won deals closed in the period
    (deals = deals won, amount = revenue, weighted empty); key `product_line` (empty: deals without a product).
    """

    # No database FK constraints, as on KpiRollup.
    territory = models.ForeignKey(
        "territories.Territory", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    dimension = models.CharField(max_length=12, choices=BreakdownDimension.choices)
    stage = models.CharField(max_length=20, blank=True, default="", help_text="The key of the stage dimension.")
    product_line = models.ForeignKey(
        "accounts.ProductLine",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
        help_text="The key of the product_line dimension (empty: no product).",
    )
    view = models.CharField(max_length=10, choices=RollupView.choices, default=RollupView.AS_OF)
    period_type = models.CharField(max_length=10, choices=PeriodType.choices)
    period_start = models.DateField()
    deals = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    weighted = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    computed_at = models.DateTimeField()

    objects = TerritoryScopedQuerySet.as_manager()

    class Meta:
        ordering = ["territory", "view", "period_type", "period_start", "dimension", "stage", "product_line"]
        verbose_name = "breakdown rollup"
        constraints = [
            models.UniqueConstraint(
                fields=["territory", "view", "period_type", "period_start", "dimension", "stage", "product_line"],
                name="kpi_breakdown_rollup_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=VALID_PERIOD_START, name="kpi_breakdown_rollup_valid_period"),
        ]

    def __str__(self):
        key = self.stage or self.product_line_id
        return f"{self.territory_id} {self.dimension}={key} {self.view} {self.period_type} {self.period_start}"


class DealChange(models.Model):
    """A deal's row before and after a write, captured by statement triggers on accounts_deal (migration
    kpis/0006) in the writer's transaction; the flush applies the difference to the rollups and deletes it.

    old_* are empty for an insert, new_* for a delete. Written only by the triggers.
    """

    deal_id = models.BigIntegerField()
    old_account_id = models.BigIntegerField(null=True)
    old_campaign_id = models.BigIntegerField(null=True)
    old_product_id = models.BigIntegerField(null=True)
    old_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    old_stage = models.CharField(max_length=20, null=True)
    old_probability = models.SmallIntegerField(null=True)
    old_created_on = models.DateField(null=True)
    old_expected_close_on = models.DateField(null=True)
    old_closed_on = models.DateField(null=True)
    new_account_id = models.BigIntegerField(null=True)
    new_campaign_id = models.BigIntegerField(null=True)
    new_product_id = models.BigIntegerField(null=True)
    new_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    new_stage = models.CharField(max_length=20, null=True)
    new_probability = models.SmallIntegerField(null=True)
    new_created_on = models.DateField(null=True)
    new_expected_close_on = models.DateField(null=True)
    new_closed_on = models.DateField(null=True)
    changed_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        verbose_name = "pending deal change"

    def __str__(self):
        return f"deal {self.deal_id} changed at {self.changed_at:%Y-%m-%d %H:%M:%S}"
