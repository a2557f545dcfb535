from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django_countries.fields import CountryField

from accounts.choices import CLOSED_STAGES, AccountStatus, BusinessType, CampaignChannel, DealStage, Industry
from core.access import AccountQuerySet, CatalogQuerySet, DealQuerySet


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Account(TimestampedModel):
    """A company or consumer the reps sell to; synced from the CRM by external_id."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    industry = models.CharField(max_length=40, choices=Industry.choices, blank=True, default="")
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    business_type = models.CharField(max_length=3, choices=BusinessType.choices, default=BusinessType.B2B)
    country = CountryField()
    region = models.CharField("region / state", max_length=100, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    postal_code = models.CharField(max_length=20, blank=True, default="")
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
    )
    status = models.CharField(max_length=10, choices=AccountStatus.choices, default=AccountStatus.PROSPECT)
    customer_since = models.DateField(null=True, blank=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["country", "region", "city"], name="account_location_idx"),
            models.Index(fields=["country", "postal_code"], name="account_postal_idx"),
            models.Index(fields=["industry"], name="account_industry_idx"),
            models.Index(fields=["business_type", "employees"], name="account_segment_idx"),
            models.Index(fields=["status"], name="account_status_idx"),
            # The list's default order: the first page reads 50 index entries instead of sorting every account.
            models.Index(fields=["name", "id"], name="account_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(annual_revenue__isnull=True) | Q(annual_revenue__gte=0), name="account_revenue_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="account_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="account_longitude_range",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="account_coordinates_paired",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if (self.latitude is None) != (self.longitude is None):
            field = "longitude" if self.longitude is None else "latitude"
            raise ValidationError({field: "Latitude and longitude must be given together."})


class ProductLine(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100, unique=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Product(TimestampedModel):
    external_id = models.CharField(max_length=64, unique=True)
    sku = models.CharField("SKU", max_length=40, unique=True)
    name = models.CharField(max_length=200)
    product_line = models.ForeignKey(ProductLine, on_delete=models.PROTECT, related_name="products")
    list_price = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(list_price__isnull=True) | Q(list_price__gte=0), name="product_price_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.sku})"


class Campaign(TimestampedModel):
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=CampaignChannel.choices)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    budget = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(starts_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="campaign_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0), name="campaign_budget_not_negative"
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "The campaign cannot end before it starts."})


class Deal(TimestampedModel):
    """An opportunity. Won and lost deals carry closed_on; open ones expected_close_on."""

    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deals")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="deals")
    rep = models.ForeignKey("reps.Rep", on_delete=models.PROTECT, null=True, blank=True, related_name="deals")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="deals")
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    stage = models.CharField(max_length=20, choices=DealStage.choices, default=DealStage.PROSPECTING)
    probability = models.PositiveSmallIntegerField(default=10, validators=[MaxValueValidator(100)])
    created_on = models.DateField()
    expected_close_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)

    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ["-created_on", "-id"]
        indexes = [
            models.Index(fields=["stage", "closed_on"], name="deal_stage_closed_idx"),
            models.Index(fields=["closed_on"], name="deal_closed_idx"),
            models.Index(
                fields=["expected_close_on"], name="deal_expected_close_idx", condition=Q(closed_on__isnull=True)
            ),
            models.Index(fields=["created_on", "id"], name="deal_created_idx"),  # also the list order
            models.Index(fields=["account", "closed_on"], name="deal_account_closed_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100), name="deal_probability_0_100"
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("created_on")),
                name="deal_closed_after_created",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=CLOSED_STAGES, closed_on__isnull=False)
                | (~Q(stage__in=CLOSED_STAGES) & Q(closed_on__isnull=True)),
                name="deal_closed_on_iff_closed_stage",
            ),
        ]

    def __str__(self):
        return self.name or self.external_id

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED_STAGES

    def clean(self):
        errors = {}
        if self.amount is not None and self.amount < 0:
            errors["amount"] = "The amount cannot be negative."
        if self.probability is not None and not 0 <= self.probability <= 100:
            errors["probability"] = "The probability must be between 0 and 100."
        if self.stage in CLOSED_STAGES and self.closed_on is None:
            errors["closed_on"] = f"A {self.get_stage_display().lower()} deal needs the date it closed."
        elif self.stage not in CLOSED_STAGES and self.closed_on is not None:
            errors["closed_on"] = "An open deal has no close date; set expected_close_on instead."
        elif self.closed_on and self.created_on and self.closed_on < self.created_on:
            errors["closed_on"] = "A deal cannot close before it was created."
        if errors:
            raise ValidationError(errors)
