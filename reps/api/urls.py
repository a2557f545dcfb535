from rest_framework.routers import SimpleRouter

from reps.api import views

router = SimpleRouter()
router.register("reps", views.RepViewSet, basename="rep")
urlpatterns = router.urls
