from django.contrib.auth import get_user_model

from core.api.serializers import StrictModelSerializer
from reps.models import Rep


class RepSerializer(StrictModelSerializer):
    class Meta:
        model = Rep
        fields = (
            "id",
            "user",
            "external_id",
            "name",
            "email",
            "title",
            "seniority",
            "home_city",
            "home_region",
            "home_country",
            "home_latitude",
            "home_longitude",
            "industries",
            "segments",
            "capacity",
            "hire_date",
            "manager",
            "is_active",
        )
        read_only_fields = ("id",)

    def get_fields(self):
        fields = super().get_fields()
        if "user" in fields and not fields["user"].read_only:
            fields["user"].queryset = get_user_model().objects.filter(is_active=True)
        return fields
