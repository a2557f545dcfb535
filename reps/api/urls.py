"""This app's API routes, served by the one router of config/api_urls.py."""

from rest_framework.routers import SimpleRouter

from reps.api import views

router = SimpleRouter()
router.register("reps", views.RepViewSet, basename="rep")
