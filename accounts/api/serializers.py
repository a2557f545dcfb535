from rest_framework import serializers

from accounts.models import Account, Campaign, Deal, Product, ProductLine
from core.api.serializers import StrictModelSerializer

TIMESTAMPS = ("created_at", "updated_at")


class AccountSerializer(StrictModelSerializer):
    class Meta:
        model = Account
        fields = (
            "id",
            "external_id",
            "name",
            "industry",
            "employees",
            "annual_revenue",
            "business_type",
            "country",
            "region",
            "city",
            "postal_code",
            "latitude",
            "longitude",
            "status",
            "customer_since",
            *TIMESTAMPS,
        )
        read_only_fields = ("id", *TIMESTAMPS)


class ProductLineSerializer(StrictModelSerializer):
    class Meta:
        model = ProductLine
        fields = ("id", "code", "name")
        read_only_fields = ("id",)


class ProductSerializer(StrictModelSerializer):
    class Meta:
        model = Product
        fields = ("id", "external_id", "sku", "name", "product_line", "list_price", *TIMESTAMPS)
        read_only_fields = ("id", *TIMESTAMPS)


class CampaignSerializer(StrictModelSerializer):
    class Meta:
        model = Campaign
        fields = ("id", "external_id", "name", "channel", "starts_on", "ends_on", "budget", *TIMESTAMPS)
        read_only_fields = ("id", *TIMESTAMPS)


class DealSerializer(StrictModelSerializer):
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Deal
        fields = (
            "id",
            "external_id",
            "name",
            "account",
            "product",
            "rep",
            "campaign",
            "amount",
            "stage",
            "probability",
            "created_on",
            "expected_close_on",
            "closed_on",
            "is_open",
            *TIMESTAMPS,
        )
        read_only_fields = ("id", *TIMESTAMPS)


# --- Sync (upsert by external_id): these describe the rows accounts.services validates. ---------------


class AccountSyncRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [name for name in AccountSerializer.Meta.fields if name not in ("id", *TIMESTAMPS)]
        extra_kwargs = {"external_id": {"validators": []}}


class ProductSyncRowSerializer(serializers.ModelSerializer):
    product_line = serializers.SlugField(help_text="The product line's code.")

    class Meta:
        model = Product
        fields = ("external_id", "sku", "name", "product_line", "list_price")
        extra_kwargs = {"external_id": {"validators": []}, "sku": {"validators": []}}


class DealSyncRowSerializer(serializers.ModelSerializer):
    account_external_id = serializers.CharField(max_length=64)
    product_external_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    rep_external_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    campaign_external_id = serializers.CharField(max_length=64, required=False, allow_null=True)

    class Meta:
        model = Deal
        fields = (
            "external_id",
            "name",
            "account_external_id",
            "product_external_id",
            "rep_external_id",
            "campaign_external_id",
            "amount",
            "stage",
            "probability",
            "created_on",
            "expected_close_on",
            "closed_on",
        )
        extra_kwargs = {"external_id": {"validators": []}}


class SyncResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class SyncRowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request (0-based; -1: the whole request).")
    field = serializers.CharField()
    message = serializers.CharField()


class SyncErrorsSerializer(serializers.Serializer):
    errors = SyncRowErrorSerializer(many=True)
