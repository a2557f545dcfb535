from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.AccountListView.as_view(), name="list"),
    path("deals/", views.DealListView.as_view(), name="deals"),
]
