"""This app's API routes, served by the one router of config/api_urls.py."""

from rest_framework.routers import SimpleRouter

from kpis.api import views

router = SimpleRouter()
router.register("kpi-definitions", views.KpiDefinitionViewSet, basename="kpi-definition")
router.register("tracked-kpis", views.TerritoryKpiViewSet, basename="tracked-kpi")
router.register("targets", views.KpiTargetViewSet, basename="target")
router.register("rollups", views.KpiRollupViewSet, basename="rollup")
router.register("breakdowns", views.KpiBreakdownRollupViewSet, basename="breakdown")
router.register("campaign-revenue", views.KpiCampaignRollupViewSet, basename="campaign-revenue")
router.register("recompute-runs", views.RecomputeRunViewSet, basename="recompute-run")
