app_name = "kpis"
urlpatterns = []
