from django.urls import path

from kpis import views

app_name = "kpis"
urlpatterns = [
    path("targets/", views.KpiTargetListView.as_view(), name="targets"),
    path("targets/set/<int:territory_pk>/", views.target_set, name="target-set"),
    path("targets/edit/", views.target_grid, name="target-grid"),
]
