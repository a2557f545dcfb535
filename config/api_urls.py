"""The REST API under /api/v1/: each app registers its viewsets on its own router; one router here serves
them all, so the API root lists every resource and a request resolves through one flat list of routes
(an include per app made every request walk nested resolvers, each miss an exception)."""

from rest_framework.routers import DefaultRouter

from accounts.api.urls import router as accounts_router
from core.api.urls import router as core_router
from kpis.api.urls import router as kpis_router
from reps.api.urls import router as reps_router
from territories.api.urls import router as territories_router

# Format suffixes (/deals.json) off: clients send Accept or ?format=, and they doubled the routes to try.
router = DefaultRouter()
router.include_format_suffixes = False
# The hot integration paths (accounts, deals) first: routes are tried in order.
for app_router in (accounts_router, core_router, reps_router, territories_router, kpis_router):
    router.registry.extend(app_router.registry)
api_urlpatterns = router.urls
