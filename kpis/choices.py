from django.db import models


class PeriodType(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class RollupView(models.TextChoices):
    AS_OF = "as_of", "As of the deal's date"
    RESTATED = "restated", "Restated to the active alignment"


class KpiUnit(models.TextChoices):
    CURRENCY = "currency", "Currency"
    COUNT = "count", "Count"
    RATIO = "ratio", "Ratio (shown as %)"


class KpiCode(models.TextChoices):
    REVENUE = "revenue", "Revenue"
    DEALS_WON = "deals_won", "Deals won"
    AVERAGE_DEAL_SIZE = "average_deal_size", "Average deal size"
    WIN_RATE = "win_rate", "Win rate"
    REVENUE_GROWTH = "revenue_growth", "Revenue growth"
    NEW_CUSTOMERS = "new_customers", "New customers"
    MARKET_PENETRATION = "market_penetration", "Market penetration"
    PIPELINE_VALUE = "pipeline_value", "Pipeline value"
    WEIGHTED_PIPELINE = "weighted_pipeline", "Weighted pipeline"
    LEAD_CONVERSION = "lead_conversion", "Lead conversion"
    QUOTA_ATTAINMENT = "quota_attainment", "Quota attainment"


class BreakdownDimension(models.TextChoices):
    STAGE = "stage", "Pipeline by stage"
    PRODUCT_LINE = "product_line", "Revenue by product line"
