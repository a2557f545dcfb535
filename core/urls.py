from django.urls import path

from core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/<slug:kind>/<int:pk>/", views.run_progress, name="run-progress"),
    path("health/", views.health, name="health"),
]
