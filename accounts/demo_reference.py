"""Reference data the demo generator draws from: places, word pools, products, the alignment, the sales team.

Everything here is fixed so that a seed alone decides the generated rows.
"""

from dataclasses import dataclass
from datetime import date

# seed_demo's defaults: `make run` seeds this much on first start, in well under a minute.
DEFAULT_ACCOUNTS = 20_000
DEFAULT_DEALS = 200_000
DEFAULT_SEED = 42

# All dates are relative to this fixed day, never to today, so a seed gives the same rows every year.
ANCHOR_DATE = date(2026, 11, 30)
HISTORY_START = date(2023, 12, 1)  # three years of closed deals end on ANCHOR_DATE
ALIGNMENT_START = date(2023, 1, 1)  # the active model and its first owners date from here; no deal is older


@dataclass(frozen=True)
class City:
    country: str
    region: str
    name: str
    latitude: float
    longitude: float
    postal_prefixes: tuple[str, ...]
    weight: float  # share of accounts, roughly by business population
    leaf: str  # the geographic leaf territory whose rules the city's accounts match


# fmt: off
CITIES: tuple[City, ...] = (
    # United States: ZIP = 3-digit prefix + 2 digits.
    City("US", "CA", "San Francisco", 37.7749, -122.4194, ("941",), 5.0, "us-norcal"),
    City("US", "CA", "San Jose", 37.3382, -121.8863, ("951",), 3.0, "us-norcal"),
    City("US", "CA", "Sacramento", 38.5816, -121.4944, ("958",), 1.5, "us-norcal"),
    City("US", "CA", "Los Angeles", 34.0522, -118.2437, ("900",), 6.0, "us-socal"),
    City("US", "CA", "San Diego", 32.7157, -117.1611, ("921",), 2.5, "us-socal"),
    City("US", "WA", "Seattle", 47.6062, -122.3321, ("981",), 3.5, "us-pnw"),
    City("US", "WA", "Spokane", 47.6588, -117.4260, ("992",), 0.8, "us-pnw"),
    City("US", "OR", "Portland", 45.5152, -122.6784, ("972",), 1.8, "us-pnw"),
    City("US", "CO", "Denver", 39.7392, -104.9903, ("802",), 2.2, "us-mountain"),
    City("US", "AZ", "Phoenix", 33.4484, -112.0740, ("850",), 2.4, "us-mountain"),
    City("US", "TX", "Austin", 30.2672, -97.7431, ("787",), 2.6, "us-texas"),
    City("US", "TX", "Dallas", 32.7767, -96.7970, ("752",), 3.6, "us-texas"),
    City("US", "TX", "Houston", 29.7604, -95.3698, ("770",), 3.8, "us-texas"),
    City("US", "IL", "Chicago", 41.8781, -87.6298, ("606",), 5.0, "us-great-lakes"),
    City("US", "OH", "Columbus", 39.9612, -82.9988, ("432",), 1.6, "us-great-lakes"),
    City("US", "OH", "Cleveland", 41.4993, -81.6944, ("441",), 1.3, "us-great-lakes"),
    City("US", "MI", "Detroit", 42.3314, -83.0458, ("482",), 1.7, "us-great-lakes"),
    City("US", "MN", "Minneapolis", 44.9778, -93.2650, ("554",), 1.9, "us-midwest"),
    City("US", "MO", "St. Louis", 38.6270, -90.1994, ("631",), 1.4, "us-midwest"),
    City("US", "NY", "New York", 40.7128, -74.0060, ("100", "101", "102"), 9.0, "us-ny-metro"),
    City("US", "NY", "Buffalo", 42.8864, -78.8784, ("142",), 0.9, "us-ny-metro"),
    City("US", "NJ", "Newark", 40.7357, -74.1724, ("071",), 1.4, "us-ny-metro"),
    City("US", "MA", "Boston", 42.3601, -71.0589, ("021",), 3.8, "us-new-england"),
    City("US", "PA", "Philadelphia", 39.9526, -75.1652, ("191",), 2.6, "us-mid-atlantic"),
    City("US", "PA", "Pittsburgh", 40.4406, -79.9959, ("152",), 1.3, "us-mid-atlantic"),
    City("US", "FL", "Miami", 25.7617, -80.1918, ("331",), 2.8, "us-southeast"),
    City("US", "FL", "Orlando", 28.5384, -81.3789, ("328",), 1.4, "us-southeast"),
    City("US", "FL", "Tampa", 27.9506, -82.4572, ("336",), 1.3, "us-southeast"),
    City("US", "GA", "Atlanta", 33.7490, -84.3880, ("303",), 3.2, "us-southeast"),
    City("US", "NC", "Charlotte", 35.2271, -80.8431, ("282",), 1.7, "us-southeast"),
    City("US", "NC", "Raleigh", 35.7796, -78.6382, ("276",), 1.2, "us-southeast"),
    # Canada: "A1A 1A1" = forward sortation area + local delivery unit.
    City("CA", "ON", "Toronto", 43.6532, -79.3832, ("M5V", "M4W", "M5H", "M5J"), 4.5, "ca-ontario"),
    City("CA", "ON", "Ottawa", 45.4215, -75.6972, ("K1P", "K2P"), 1.4, "ca-ontario"),
    City("CA", "ON", "Mississauga", 43.5890, -79.6441, ("L5B", "L4W"), 1.1, "ca-ontario"),
    City("CA", "QC", "Montréal", 45.5019, -73.5674, ("H2X", "H3B", "H3A"), 2.8, "ca-quebec"),
    City("CA", "QC", "Québec", 46.8139, -71.2080, ("G1R", "G1K"), 0.8, "ca-quebec"),
    City("CA", "BC", "Vancouver", 49.2827, -123.1207, ("V6B", "V6E", "V6C"), 2.2, "ca-west"),
    City("CA", "BC", "Victoria", 48.4284, -123.3656, ("V8W",), 0.5, "ca-west"),
    City("CA", "AB", "Calgary", 51.0447, -114.0719, ("T2P", "T2G"), 1.4, "ca-west"),
    City("CA", "AB", "Edmonton", 53.5461, -113.4938, ("T5J",), 1.0, "ca-west"),
    # United Kingdom: outward code + " " + digit and two letters.
    City("GB", "England", "London", 51.5074, -0.1278, ("EC1A", "EC2M", "SW1A", "W1T", "N1", "SE1", "E14"), 9.0, "gb-london"),  # noqa: E501
    City("GB", "England", "Manchester", 53.4808, -2.2426, ("M1", "M2", "M3"), 2.2, "gb-england"),
    City("GB", "England", "Birmingham", 52.4862, -1.8904, ("B1", "B2", "B3"), 2.0, "gb-england"),
    City("GB", "England", "Leeds", 53.8008, -1.5491, ("LS1", "LS2"), 1.2, "gb-england"),
    City("GB", "England", "Bristol", 51.4545, -2.5879, ("BS1", "BS2"), 1.1, "gb-england"),
    City("GB", "Scotland", "Edinburgh", 55.9533, -3.1883, ("EH1", "EH2", "EH3"), 1.2, "gb-celtic"),
    City("GB", "Scotland", "Glasgow", 55.8642, -4.2518, ("G1", "G2"), 1.3, "gb-celtic"),
    City("GB", "Wales", "Cardiff", 51.4816, -3.1791, ("CF10", "CF11"), 0.7, "gb-celtic"),
    City("GB", "Northern Ireland", "Belfast", 54.5973, -5.9301, ("BT1", "BT2"), 0.5, "gb-celtic"),
    # Germany: 5-digit PLZ; the sales split follows PLZ ranges.
    City("DE", "Berlin", "Berlin", 52.5200, 13.4050, ("101", "104", "107", "120"), 3.5, "de-nord-ost"),
    City("DE", "Hamburg", "Hamburg", 53.5511, 9.9937, ("200", "203", "221"), 2.4, "de-nord-ost"),
    City("DE", "Niedersachsen", "Hannover", 52.3759, 9.7320, ("301",), 1.0, "de-nord-ost"),
    City("DE", "Sachsen", "Leipzig", 51.3397, 12.3731, ("041",), 0.9, "de-nord-ost"),
    City("DE", "Sachsen", "Dresden", 51.0504, 13.7373, ("010",), 0.8, "de-nord-ost"),
    City("DE", "Nordrhein-Westfalen", "Köln", 50.9375, 6.9603, ("506", "509"), 2.0, "de-west"),
    City("DE", "Nordrhein-Westfalen", "Düsseldorf", 51.2277, 6.7735, ("402",), 1.6, "de-west"),
    City("DE", "Nordrhein-Westfalen", "Dortmund", 51.5136, 7.4653, ("441",), 1.0, "de-west"),
    City("DE", "Hessen", "Frankfurt am Main", 50.1109, 8.6821, ("603", "604"), 2.2, "de-sued"),
    City("DE", "Baden-Württemberg", "Stuttgart", 48.7758, 9.1829, ("701", "703"), 1.8, "de-sued"),
    City("DE", "Bayern", "München", 48.1351, 11.5820, ("803", "806", "809"), 3.0, "de-sued"),
    City("DE", "Bayern", "Nürnberg", 49.4521, 11.0767, ("904",), 1.0, "de-sued"),
    # France: 5-digit code postal starting with the département.
    City("FR", "Île-de-France", "Paris", 48.8566, 2.3522, ("7500", "7501"), 7.0, "fr-idf"),
    City("FR", "Île-de-France", "Boulogne-Billancourt", 48.8397, 2.2399, ("9210",), 1.0, "fr-idf"),
    City("FR", "Hauts-de-France", "Lille", 50.6292, 3.0573, ("590",), 1.3, "fr-nord-est"),
    City("FR", "Grand Est", "Strasbourg", 48.5734, 7.7521, ("670",), 1.0, "fr-nord-est"),
    City("FR", "Pays de la Loire", "Nantes", 47.2184, -1.5536, ("440",), 1.0, "fr-ouest"),
    City("FR", "Nouvelle-Aquitaine", "Bordeaux", 44.8378, -0.5792, ("330",), 1.2, "fr-ouest"),
    City("FR", "Auvergne-Rhône-Alpes", "Lyon", 45.7640, 4.8357, ("690",), 2.2, "fr-sud"),
    City("FR", "Auvergne-Rhône-Alpes", "Grenoble", 45.1885, 5.7245, ("380",), 0.6, "fr-sud"),
    City("FR", "Provence-Alpes-Côte d'Azur", "Marseille", 43.2965, 5.3698, ("130",), 1.5, "fr-sud"),
    City("FR", "Provence-Alpes-Côte d'Azur", "Nice", 43.7102, 7.2620, ("060",), 0.8, "fr-sud"),
    City("FR", "Occitanie", "Toulouse", 43.6047, 1.4442, ("310",), 1.3, "fr-sud"),
    City("FR", "Occitanie", "Montpellier", 43.6108, 3.8767, ("340",), 0.8, "fr-sud"),
)
# fmt: on

COUNTRY_WEIGHTS = {"US": 0.45, "CA": 0.12, "GB": 0.16, "DE": 0.15, "FR": 0.12}
LEGAL_SUFFIXES = {
    "US": ("Inc.", "LLC", "Corp.", "Co."),
    "CA": ("Inc.", "Ltd.", "Corp."),
    "GB": ("Ltd", "PLC", "LLP"),
    "DE": ("GmbH", "AG", "KG"),
    "FR": ("SAS", "SA", "SARL"),
}
CA_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"  # Canada Post avoids D, F, I, O, Q and U
GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # Royal Mail avoids C, I, K, M, O and V in the inward code

NAME_STARTS = (
    "North", "Blue", "Silver", "Bright", "Iron", "Red", "Green", "Summit", "River", "Oak", "Stone", "Clear", "Pine",
    "Harbor", "Eagle", "Golden", "Maple", "Cedar", "Crystal", "Falcon", "Granite", "Lake", "Meadow", "Ocean", "Prime",
    "Quantum", "Sun", "Star", "Swift", "True", "Vertex", "West", "East", "Alpine", "Apex", "Atlas", "Beacon", "Cobalt",
    "Delta", "Ever", "First", "Frontier", "Hill", "Keystone", "Liberty", "Lumen", "Nova", "Orbit", "Pioneer",
    "Sterling",
)  # fmt: skip
NAME_ENDS = (
    "wind", "field", "bridge", "point", "gate", "stone", "wood", "brook", "crest", "line", "mark", "path", "peak",
    "port", "ridge", "side", "view", "water", "works", "way", "well", "light", "rock", "shore", "vale", "ford", "haven",
    "land", "mont", "star", "tech", "wave", "core", "bay", "glen", "moor", "run", "spring", "trail", "vista",
)  # fmt: skip
INDUSTRY_NOUNS = {
    "agriculture": ("Farms", "Agri", "Harvest", "Growers"),
    "automotive": ("Motors", "Automotive", "Auto Parts", "Mobility"),
    "construction": ("Builders", "Construction", "Contracting", "Engineering"),
    "consumer_goods": ("Brands", "Home Goods", "Consumer Products", "Essentials"),
    "education": ("Academy", "Learning", "College", "Education"),
    "energy": ("Energy", "Power", "Oil & Gas", "Renewables"),
    "financial_services": ("Capital", "Bank", "Financial", "Insurance"),
    "government": ("Authority", "Public Services", "Agency", "Council"),
    "healthcare": ("Health", "Clinics", "Medical", "Care"),
    "hospitality": ("Hotels", "Restaurants", "Hospitality", "Resorts"),
    "logistics": ("Logistics", "Freight", "Shipping", "Distribution"),
    "manufacturing": ("Manufacturing", "Industries", "Fabrication", "Components"),
    "media": ("Media", "Studios", "Publishing", "Broadcasting"),
    "pharma": ("Pharma", "Therapeutics", "Biosciences", "Labs"),
    "professional_services": ("Consulting", "Partners", "Advisory", "Legal"),
    "real_estate": ("Properties", "Realty", "Estates", "Real Estate"),
    "retail": ("Stores", "Retail", "Outfitters", "Market"),
    "technology": ("Software", "Systems", "Technologies", "Data"),
    "telecom": ("Telecom", "Networks", "Communications", "Wireless"),
    "utilities": ("Utilities", "Water", "Electric", "Gas"),
}
# industry: (share of accounts, share of them that sell to consumers, revenue per employee in USD)
INDUSTRY_PROFILE = {
    "agriculture": (0.03, 0.05, 180_000),
    "automotive": (0.04, 0.15, 320_000),
    "construction": (0.06, 0.10, 200_000),
    "consumer_goods": (0.06, 0.55, 260_000),
    "education": (0.04, 0.20, 110_000),
    "energy": (0.03, 0.10, 650_000),
    "financial_services": (0.08, 0.35, 420_000),
    "government": (0.03, 0.00, 120_000),
    "healthcare": (0.07, 0.25, 160_000),
    "hospitality": (0.05, 0.75, 90_000),
    "logistics": (0.05, 0.05, 230_000),
    "manufacturing": (0.09, 0.05, 280_000),
    "media": (0.04, 0.45, 300_000),
    "pharma": (0.03, 0.05, 520_000),
    "professional_services": (0.08, 0.10, 190_000),
    "real_estate": (0.04, 0.35, 350_000),
    "retail": (0.07, 0.80, 170_000),
    "technology": (0.10, 0.10, 330_000),
    "telecom": (0.03, 0.40, 480_000),
    "utilities": (0.03, 0.30, 560_000),
}

# (code, name, products: (sku, name, list price))
PRODUCT_LINES = (
    ("platform", "Core Platform", (
        ("PLT-STD", "Platform Standard", 12_000),
        ("PLT-PRO", "Platform Professional", 36_000),
        ("PLT-ENT", "Platform Enterprise", 120_000),
        ("PLT-SEAT", "Additional seats (10)", 2_400),
    )),
    ("analytics", "Analytics", (
        ("ANL-DASH", "Dashboards", 6_000),
        ("ANL-FCST", "Forecasting", 18_000),
        ("ANL-LAKE", "Data Lake Connector", 24_000),
    )),
    ("security", "Security & Compliance", (
        ("SEC-SSO", "Single sign-on", 4_800),
        ("SEC-AUD", "Audit & Retention", 15_000),
        ("SEC-DLP", "Data Loss Prevention", 30_000),
    )),
    ("payments", "Payments", (
        ("PAY-GW", "Payment Gateway", 9_000),
        ("PAY-BILL", "Subscription Billing", 21_000),
        ("PAY-TAX", "Tax Engine", 14_000),
    )),
    ("services", "Professional Services", (
        ("SRV-ONB", "Onboarding package", 8_000),
        ("SRV-IMPL", "Implementation", 45_000),
        ("SRV-TAM", "Technical account manager", 60_000),
        ("SRV-TRN", "Training day", 2_500),
    )),
)  # fmt: skip
PRODUCT_LINE_WEIGHTS = {"platform": 0.38, "analytics": 0.18, "security": 0.16, "payments": 0.13, "services": 0.15}

CAMPAIGN_CHANNEL_WEIGHTS = {
    "email": 0.22, "event": 0.10, "webinar": 0.16, "paid_search": 0.15, "social": 0.10, "partner": 0.09,
    "referral": 0.08, "outbound": 0.10,
}  # fmt: skip
CAMPAIGN_THEMES = {
    "email": "Nurture", "event": "Summit", "webinar": "Webinar series", "paid_search": "Search", "social": "Social",
    "partner": "Partner push", "referral": "Referral drive", "outbound": "Outbound blitz",
}  # fmt: skip

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Lisa",
    "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Paul", "Emily", "Oliver", "Amelia", "Lukas", "Hannah",
    "Léa", "Hugo", "Chloé", "Louis", "Noah", "Sofia", "Liam", "Mia", "Felix", "Emma", "Jonas", "Lena", "Arthur",
    "Manon", "Ethan", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Müller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Meyer", "Wagner", "Becker", "Dubois", "Bernard", "Moreau", "Laurent", "Lefebvre", "Roux", "Fournier",
    "Patel", "Tremblay", "Roy", "Gagnon", "Campbell",
)  # fmt: skip


def _country(code: str) -> list[dict]:
    return [{"field": "country", "values": [code]}]


def _regions(country: str, *regions: str) -> list[dict]:
    return [{"field": "country", "values": [country]}, {"field": "region", "values": list(regions)}]


# The alignment, parents before children: (code, name, kind, parent, priority, value tier, rules).
# Each rule is a list of criteria an account must all meet; a territory matches on any rule.
# Every parent's rules cover its children, so "in a child" implies "in the parent" whatever the engine does.
ALL_COUNTRIES = sorted(COUNTRY_WEIGHTS)
GEOGRAPHY = (
    ("global", "Global", None, 0, 2, [[{"field": "country", "values": ALL_COUNTRIES}]]),
    ("na", "North America", "global", 0, 2, [[{"field": "country", "values": ["CA", "US"]}]]),
    ("emea", "Europe", "global", 0, 2, [[{"field": "country", "values": ["DE", "FR", "GB"]}]]),
    ("us", "United States", "na", 0, 1, [_country("US")]),
    ("ca", "Canada", "na", 0, 2, [_country("CA")]),
    ("gb", "United Kingdom", "emea", 0, 1, [_country("GB")]),
    ("de", "Germany", "emea", 0, 1, [_country("DE")]),
    ("fr", "France", "emea", 0, 2, [_country("FR")]),
    ("us-west", "US West", "us", 0, 1, [_regions("US", "CA", "WA", "OR", "CO", "AZ")]),
    ("us-central", "US Central", "us", 0, 2, [_regions("US", "TX", "IL", "OH", "MI", "MN", "MO")]),
    ("us-east", "US East", "us", 0, 1, [_regions("US", "NY", "NJ", "MA", "PA", "FL", "GA", "NC")]),
    ("us-norcal", "Northern California", "us-west", 0, 1,
     [_regions("US", "CA") + [{"field": "postal_code", "operator": "prefix", "values": ["94", "95", "96"]}]]),
    ("us-socal", "Southern California", "us-west", 0, 1,
     [_regions("US", "CA") + [{"field": "postal_code", "operator": "prefix", "values": ["90", "91", "92", "93"]}]]),
    ("us-pnw", "Pacific Northwest", "us-west", 0, 2, [_regions("US", "WA", "OR")]),
    ("us-mountain", "Mountain", "us-west", 0, 3, [_regions("US", "CO", "AZ")]),
    ("us-texas", "Texas", "us-central", 0, 2, [_regions("US", "TX")]),
    ("us-great-lakes", "Great Lakes", "us-central", 0, 2, [_regions("US", "IL", "OH", "MI")]),
    ("us-midwest", "Upper Midwest", "us-central", 0, 3, [_regions("US", "MN", "MO")]),
    ("us-ny-metro", "New York Metro", "us-east", 0, 1, [_regions("US", "NY", "NJ")]),
    ("us-new-england", "New England", "us-east", 0, 2, [_regions("US", "MA")]),
    ("us-mid-atlantic", "Mid-Atlantic", "us-east", 0, 3, [_regions("US", "PA")]),
    ("us-southeast", "Southeast", "us-east", 0, 2, [_regions("US", "FL", "GA", "NC")]),
    ("ca-ontario", "Ontario", "ca", 0, 2, [_regions("CA", "ON")]),
    ("ca-quebec", "Québec", "ca", 0, 2, [_regions("CA", "QC")]),
    ("ca-west", "Western Canada", "ca", 0, 3, [_regions("CA", "BC", "AB")]),
    # London accounts also match "Rest of England"; the higher priority keeps them in London.
    ("gb-london", "London", "gb", 10, 1, [[{"field": "country", "values": ["GB"]}, {"field": "city", "values": ["London"]}]]),  # noqa: E501
    ("gb-england", "Rest of England", "gb", 0, 2, [_regions("GB", "England")]),
    ("gb-celtic", "Scotland, Wales & Northern Ireland", "gb", 0, 3,
     [_regions("GB", "Scotland", "Wales", "Northern Ireland")]),
    ("de-nord-ost", "Deutschland Nord/Ost (PLZ 0–3)", "de", 0, 2,
     [_country("DE") + [{"field": "postal_code", "operator": "range", "range_start": "00000", "range_end": "39999"}]]),
    ("de-west", "Deutschland West (PLZ 4–5)", "de", 0, 2,
     [_country("DE") + [{"field": "postal_code", "operator": "range", "range_start": "40000", "range_end": "59999"}]]),
    ("de-sued", "Deutschland Süd (PLZ 6–9)", "de", 0, 1,
     [_country("DE") + [{"field": "postal_code", "operator": "range", "range_start": "60000", "range_end": "99999"}]]),
    ("fr-idf", "Île-de-France", "fr", 0, 1, [_regions("FR", "Île-de-France")]),
    ("fr-nord-est", "France Nord-Est", "fr", 0, 3, [_regions("FR", "Hauts-de-France", "Grand Est")]),
    ("fr-ouest", "France Ouest", "fr", 0, 3, [_regions("FR", "Pays de la Loire", "Nouvelle-Aquitaine")]),
    ("fr-sud", "France Sud", "fr", 0, 2,
     [_regions("FR", "Auvergne-Rhône-Alpes", "Provence-Alpes-Côte d'Azur", "Occitanie")]),
)  # fmt: skip
_GEO_PARENTS = {parent for _, _, parent, *_ in GEOGRAPHY if parent}
GEO_LEAVES = tuple(code for code, *_ in GEOGRAPHY if code not in _GEO_PARENTS)

SEGMENTS = (
    ("seg-all", "All segments", None, 0, 2, [[{"field": "business_type", "values": ["B2B", "B2C"]}]]),
    ("seg-enterprise", "Enterprise (1000+ employees)", "seg-all", 10, 1,
     [[{"field": "employees", "operator": "range", "min_value": 1000}]]),
    ("seg-mid", "Mid-market B2B (50–999)", "seg-all", 0, 2,
     [[{"field": "employees", "operator": "range", "min_value": 50, "max_value": 999},
       {"field": "business_type", "values": ["B2B"]}]]),
    ("seg-smb", "Small business B2B (1–49)", "seg-all", 0, 3,
     [[{"field": "employees", "operator": "range", "min_value": 1, "max_value": 49},
       {"field": "business_type", "values": ["B2B"]}]]),
    ("seg-consumer", "Consumer brands (B2C)", "seg-all", 5, 2, [[{"field": "business_type", "values": ["B2C"]}]]),
)  # fmt: skip

VERTICAL_GROUPS = (
    ("vert-financial", "Financial services & real estate", ("financial_services", "real_estate"), 1),
    ("vert-health", "Healthcare & life sciences", ("healthcare", "pharma"), 1),
    ("vert-public", "Public sector & education", ("government", "education"), 2),
    ("vert-industrial", "Industrial", ("manufacturing", "automotive", "construction", "agriculture", "logistics"), 2),
    ("vert-energy", "Energy & utilities", ("energy", "utilities"), 2),
    ("vert-tmt", "Technology, media & telecom", ("technology", "telecom", "media"), 1),
    ("vert-consumer", "Retail & consumer", ("retail", "consumer_goods", "hospitality"), 2),
    ("vert-services", "Professional services", ("professional_services",), 3),
)
VERTICALS = (
    ("vert-all", "Industry verticals", None, 0, 2, [[{"field": "industry", "values": sorted(INDUSTRY_PROFILE)}]]),
    *(
        (code, name, "vert-all", 0, tier, [[{"field": "industry", "values": list(industries)}]])
        for code, name, industries, tier in VERTICAL_GROUPS
    ),
)
PRODUCTS_TREE = (
    ("prod-all", "Product specialists", None, 0, 2,
     [[{"field": "product_line", "values": [code for code, *_ in PRODUCT_LINES]}]]),
    *((f"prod-{code}", name, "prod-all", 0, 2, [[{"field": "product_line", "values": [code]}]])
      for code, name, _ in PRODUCT_LINES),
)  # fmt: skip
KEY_ACCOUNTS_CODE = "key-accounts"

# Leaves whose owner changed during the history: (leaf, date the new owner took over).
OWNER_HANDOVERS = {
    "us-texas": date(2025, 4, 1),
    "gb-england": date(2025, 7, 1),
    "de-sued": date(2024, 10, 1),
    "fr-idf": date(2026, 1, 1),
}
