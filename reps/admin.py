from django.contrib import admin

from reps.models import Rep


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "email",
        "title",
        "seniority",
        "home_city",
        "home_country",
        "capacity",
        "manager",
        "is_active",
    )
    list_filter = ("seniority", "is_active", "home_country")
    list_select_related = ("manager", "user")
    raw_id_fields = ("user", "manager")
    search_fields = ("name", "email", "home_city")
