from django.urls import path

from core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/<slug:kind>/<int:pk>/", views.run_progress, name="run-progress"),
    path("coverage/gaps/", views.coverage_gaps, name="coverage-gaps"),
    path("health/", views.health, name="health"),
]
