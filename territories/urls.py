from django.urls import path

from territories import views

app_name = "territories"
urlpatterns = [
    path("", views.TerritoryListView.as_view(), name="list"),
    path("tree/", views.territory_tree, name="tree"),
    path("map/", views.territory_map, name="map"),
    path("map/data/", views.territory_map_data, name="map-data"),
    path("rules/preview/", views.rule_preview, name="rule-preview"),
    path("models/", views.TerritoryModelListView.as_view(), name="models"),
    path("models/<int:pk>/", views.territory_model_detail, name="model-detail"),
    path("models/<int:pk>/run/", views.territory_model_run, name="model-run"),
    path("models/<int:pk>/diff/", views.territory_model_diff_section, name="model-diff"),
    path("models/<int:pk>/coverage/", views.territory_model_coverage, name="model-coverage"),
    path("models/<int:pk>/activate/", views.territory_model_activate_view, name="model-activate"),
    path("models/<int:pk>/copy/", views.territory_model_copy_view, name="model-copy"),
    path("models/<int:pk>/delete/", views.territory_model_delete_view, name="model-delete"),
    path("models/<int:model_pk>/new/", views.territory_edit, name="create"),
    path("models/<int:model_pk>/<int:pk>/edit/", views.territory_edit, name="edit"),
    path("<int:pk>/", views.territory_detail, name="detail"),
    path("<int:pk>/assignments/", views.assignment_add, name="assignment-add"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/preview/", views.rule_whole_preview, name="rule-preview-all"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    path("criteria/<int:pk>/delete/", views.criterion_delete, name="criterion-delete"),
    path("<int:pk>/overrides/new/", views.override_add, name="override-add"),
    path("overrides/<int:pk>/edit/", views.override_edit, name="override-edit"),
    path("overrides/<int:pk>/delete/", views.override_delete, name="override-delete"),
    path("<int:pk>/named-accounts/new/", views.named_account_add, name="named-account-add"),
    path("named-accounts/<int:pk>/delete/", views.named_account_delete, name="named-account-delete"),
]
