from django.db import models


class TerritoryModelState(models.TextChoices):
    PLANNING = "planning", "Planning"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class TerritoryKind(models.TextChoices):
    GEOGRAPHIC = "geographic", "Geographic"
    SEGMENT = "segment", "Customer segment"
    PRODUCT = "product", "Product"
    VERTICAL = "vertical", "Vertical industry"
    ACCOUNT = "account", "Account-based"


class ValueTier(models.IntegerChoices):
    STRATEGIC = 1, "Tier 1 – strategic"
    CORE = 2, "Tier 2 – core"
    DEVELOPING = 3, "Tier 3 – developing"


class AssignmentRole(models.TextChoices):
    OWNER = "owner", "Owner"
    OVERLAY = "overlay", "Overlay"
    SUPPORT = "support", "Support"


class CriterionField(models.TextChoices):
    COUNTRY = "country", "Country"
    REGION = "region", "Region / state"
    CITY = "city", "City"
    POSTAL_CODE = "postal_code", "Postal code"
    EMPLOYEES = "employees", "Employees"
    ANNUAL_REVENUE = "annual_revenue", "Annual revenue"
    BUSINESS_TYPE = "business_type", "Business type"
    INDUSTRY = "industry", "Industry"
    PRODUCT_LINE = "product_line", "Product line"
    PRODUCT = "product", "Product"


class CriterionOperator(models.TextChoices):
    IN = "in", "is one of"
    PREFIX = "prefix", "starts with one of"
    RANGE = "range", "is in the range"  # postal codes: range_start..range_end; numbers: min_value..max_value


# Which criteria a territory of each kind may use. Account-based territories name accounts instead.
FIELDS_BY_KIND = {
    TerritoryKind.GEOGRAPHIC: {
        CriterionField.COUNTRY,
        CriterionField.REGION,
        CriterionField.CITY,
        CriterionField.POSTAL_CODE,
    },
    TerritoryKind.SEGMENT: {CriterionField.EMPLOYEES, CriterionField.ANNUAL_REVENUE, CriterionField.BUSINESS_TYPE},
    TerritoryKind.PRODUCT: {CriterionField.PRODUCT_LINE, CriterionField.PRODUCT},
    TerritoryKind.VERTICAL: {CriterionField.INDUSTRY},
    TerritoryKind.ACCOUNT: set(),
}

# Which operators each field takes.
OPERATORS_BY_FIELD = {
    CriterionField.COUNTRY: {CriterionOperator.IN},
    CriterionField.REGION: {CriterionOperator.IN},
    CriterionField.CITY: {CriterionOperator.IN},
    CriterionField.POSTAL_CODE: {CriterionOperator.IN, CriterionOperator.PREFIX, CriterionOperator.RANGE},
    CriterionField.EMPLOYEES: {CriterionOperator.RANGE},
    CriterionField.ANNUAL_REVENUE: {CriterionOperator.RANGE},
    CriterionField.BUSINESS_TYPE: {CriterionOperator.IN},
    CriterionField.INDUSTRY: {CriterionOperator.IN},
    CriterionField.PRODUCT_LINE: {CriterionOperator.IN},
    CriterionField.PRODUCT: {CriterionOperator.IN},
}


class MembershipSource(models.TextChoices):
    RULE = "rule", "Rule"
    NAMED = "named", "Named account"
    OVERRIDE = "override", "Manual override"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class OverlapReason(models.TextChoices):
    """Why the winning sibling beat another that also claimed the account (first difference wins)."""

    OVERRIDE = "override", "Manual override"
    NAMED = "named", "Named account"
    PRIORITY = "priority", "Higher priority"
    SPECIFICITY = "specificity", "More specific rule"
    TIE_BREAK = "tie_break", "Tie-break: lowest territory code"
