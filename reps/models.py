from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from accounts.choices import BusinessType, CompanySize, Industry
from core.access import RepQuerySet
from reps.choices import Seniority


class Rep(models.Model):
    """A sales rep: a login plus what the matching engine needs (home, skills, capacity)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rep")
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    title = models.CharField(max_length=100, blank=True, default="")
    seniority = models.PositiveSmallIntegerField(choices=Seniority.choices, default=Seniority.INTERMEDIATE)
    home_city = models.CharField(max_length=100, blank=True, default="")
    home_region = models.CharField(max_length=100, blank=True, default="")
    home_country = CountryField(blank=True, default="")
    home_latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
    )
    home_longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
    )
    industries = ArrayField(
        models.CharField(max_length=40, choices=Industry.choices),
        blank=True,
        default=list,
        help_text="Industries the rep has proven experience in.",
    )
    segments = ArrayField(
        models.CharField(max_length=20, choices=CompanySize.choices + BusinessType.choices),
        blank=True,
        default=list,
        help_text="Company sizes and business types the rep has proven experience in.",
    )
    capacity = models.PositiveIntegerField(default=200, help_text="How many accounts the rep can cover well.")
    hire_date = models.DateField(null=True, blank=True)
    manager = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports")
    is_active = models.BooleanField(default=True)

    objects = RepQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["home_country", "home_region"], name="rep_home_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(home_latitude__isnull=True) | Q(home_latitude__gte=-90, home_latitude__lte=90),
                name="rep_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(home_longitude__isnull=True) | Q(home_longitude__gte=-180, home_longitude__lte=180),
                name="rep_longitude_range",
            ),
            models.CheckConstraint(condition=~Q(manager=models.F("id")), name="rep_not_own_manager"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.manager_id and self.manager_id == self.pk:
            raise ValidationError({"manager": "A rep cannot be their own manager."})
