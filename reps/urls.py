from django.urls import path

from reps import views

app_name = "reps"
urlpatterns = [path("", views.RepListView.as_view(), name="list")]
