from django.urls import path

from core import views, views_sync, views_tokens

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/<slug:kind>/<int:pk>/", views.run_progress, name="run-progress"),
    path("coverage/gaps/", views.coverage_gaps, name="coverage-gaps"),
    path("health/", views.health, name="health"),
    path("options/territories/", views.territory_options, name="territory-options"),
    path("import/", views_sync.sync_upload, name="sync-upload"),
    path("tokens/", views_tokens.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views_tokens.token_revoke, name="token-revoke"),
]
