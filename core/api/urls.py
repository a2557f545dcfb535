"""This app's API routes, served by the one router of config/api_urls.py."""

from rest_framework.routers import SimpleRouter

from core.api import views

router = SimpleRouter()
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("audit", views.AuditEntryViewSet, basename="audit-entry")
