app_name = "territories"
urlpatterns = []
