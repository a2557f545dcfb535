from django.db import models


class BusinessType(models.TextChoices):
    B2B = "B2B", "B2B"
    B2C = "B2C", "B2C"


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    CHURNED = "churned", "Churned"


class Industry(models.TextChoices):
    AGRICULTURE = "agriculture", "Agriculture"
    AUTOMOTIVE = "automotive", "Automotive"
    CONSTRUCTION = "construction", "Construction"
    CONSUMER_GOODS = "consumer_goods", "Consumer goods"
    EDUCATION = "education", "Education"
    ENERGY = "energy", "Energy"
    FINANCIAL_SERVICES = "financial_services", "Financial services"
    GOVERNMENT = "government", "Government"
    HEALTHCARE = "healthcare", "Healthcare"
    HOSPITALITY = "hospitality", "Hospitality"
    LOGISTICS = "logistics", "Logistics"
    MANUFACTURING = "manufacturing", "Manufacturing"
    MEDIA = "media", "Media"
    PHARMA = "pharma", "Pharmaceuticals"
    PROFESSIONAL_SERVICES = "professional_services", "Professional services"
    REAL_ESTATE = "real_estate", "Real estate"
    RETAIL = "retail", "Retail"
    TECHNOLOGY = "technology", "Technology"
    TELECOM = "telecom", "Telecommunications"
    UTILITIES = "utilities", "Utilities"


class CompanySize(models.TextChoices):
    """Segment bands by employee count, used by segment rules and reports."""

    SMALL = "small", "Small (1–49)"
    MID = "mid", "Mid-market (50–999)"
    ENTERPRISE = "enterprise", "Enterprise (1000+)"


COMPANY_SIZE_BOUNDS = {
    CompanySize.SMALL: (1, 49),
    CompanySize.MID: (50, 999),
    CompanySize.ENTERPRISE: (1000, None),
}


class DealStage(models.TextChoices):
    PROSPECTING = "prospecting", "Prospecting"
    QUALIFICATION = "qualification", "Qualification"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    WON = "won", "Won"
    LOST = "lost", "Lost"


OPEN_STAGES = (DealStage.PROSPECTING, DealStage.QUALIFICATION, DealStage.PROPOSAL, DealStage.NEGOTIATION)
CLOSED_STAGES = (DealStage.WON, DealStage.LOST)


class CampaignChannel(models.TextChoices):
    EMAIL = "email", "Email"
    EVENT = "event", "Event"
    WEBINAR = "webinar", "Webinar"
    PAID_SEARCH = "paid_search", "Paid search"
    SOCIAL = "social", "Social"
    PARTNER = "partner", "Partner"
    REFERRAL = "referral", "Referral"
    OUTBOUND = "outbound", "Outbound"
