from rest_framework.routers import DefaultRouter

from core.api import views

router = DefaultRouter()
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("audit", views.AuditEntryViewSet, basename="audit-entry")
urlpatterns = router.urls
