"""This app's API routes, served by the one router of config/api_urls.py."""

from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("product-lines", views.ProductLineViewSet, basename="product-line")
router.register("products", views.ProductViewSet, basename="product")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("deals", views.DealViewSet, basename="deal")
