from django.contrib.auth import get_user_model
from rest_framework import serializers

from core import roles
from core.api.serializers import StrictModelSerializer
from reps.models import Rep
from territories.validation import scoped_manager


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
            # A rep's login sees the rep's territories: only a login with the Sales rep role can be one.
            fields["user"].queryset = get_user_model().objects.filter(is_active=True, groups__name=roles.SALES_REP)
        return fields

    def validate_user(self, user):
        """Moving an existing rep to another login moves that rep's territories' accounts, deals and
        figures to whoever signs in with it: for a manager of the whole alignment only."""
        changed = self.instance is not None and self.instance.user_id != getattr(user, "pk", None)
        if changed and scoped_manager(getattr(self.context.get("request"), "user", None)):
            raise serializers.ValidationError(
                "A manager limited to some territories cannot move a rep to another login; ask a manager of the "
                "whole alignment."
            )
        return user
