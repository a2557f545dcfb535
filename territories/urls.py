from django.urls import path

from territories import views

app_name = "territories"
urlpatterns = [
    path("", views.TerritoryListView.as_view(), name="list"),
    path("tree/", views.territory_tree, name="tree"),
    path("map/", views.territory_map, name="map"),
    path("map/data/", views.territory_map_data, name="map-data"),
    path("<int:pk>/", views.territory_detail, name="detail"),
]
