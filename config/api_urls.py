"""The REST API under /api/v1/: each app registers its viewsets on one router."""

from django.urls import include, path

api_urlpatterns = [
    path("", include("core.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("reps.api.urls")),
    path("", include("territories.api.urls")),
    path("", include("kpis.api.urls")),
]
