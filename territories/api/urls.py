"""This app's API routes, served by the one router of config/api_urls.py."""

from rest_framework.routers import SimpleRouter

from territories.api import views

router = SimpleRouter()
router.register("territory-models", views.TerritoryModelViewSet, basename="territory-model")
router.register("territories", views.TerritoryViewSet, basename="territory")
router.register("rules", views.TerritoryRuleViewSet, basename="rule")
router.register("named-accounts", views.NamedAccountViewSet, basename="named-account")
router.register("overrides", views.TerritoryOverrideViewSet, basename="override")
router.register("rep-assignments", views.RepAssignmentViewSet, basename="rep-assignment")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("assignment-runs", views.AssignmentRunViewSet, basename="assignment-run")
