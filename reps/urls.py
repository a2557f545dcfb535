app_name = "reps"
urlpatterns = []
