from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.api import serializers
from accounts.choices import CLOSED_STAGES
from accounts.filtersets import (
    AccountFilterSet,
    CampaignFilterSet,
    DealFilterSet,
    ProductFilterSet,
    ProductLineFilterSet,
)
from accounts.models import Account, Campaign, Deal, Product, ProductLine
from accounts.services import account_create_refusal, account_delete_refusal, account_update_refusal
from core.api.exceptions import Conflict
from core.api.exports import ExportMixin
from core.api.pagination import LargeListCursorPagination
from core.api.permissions import SYNC_ROLES
from core.api.serializers import FIELD_ERRORS_SCHEMA, ErrorDetailSerializer
from core.api.sync import sync_actions
from core.api.viewsets import FastListMixin, ScopedModelViewSet
from core.hooks import deals_changed_on_commit, hook_call
from territories.services import RULE_FIELDS


def _sync(kind, serializer, row_serializer):
    return sync_actions(
        kind=kind,
        serializer=serializer,
        row_serializer=row_serializer,
        result_serializer=serializers.SyncResultSerializer,
        errors_serializer=serializers.SyncErrorsSerializer,
    )


SCOPED_MOVE_400 = OpenApiResponse(
    FIELD_ERRORS_SCHEMA,
    description="Refused, by field ({field: [messages]}); also a manager limited to some territories changing "
    f"a field territory rules read ({', '.join(sorted(RULE_FIELDS))}): that would move the account.",
)


@extend_schema_view(
    update=extend_schema(responses={200: serializers.AccountSerializer, 400: SCOPED_MOVE_400}),
    partial_update=extend_schema(responses={200: serializers.AccountSerializer, 400: SCOPED_MOVE_400}),
    destroy=extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(
                ErrorDetailSerializer,
                description="The account has territory history (or deals), which is kept for the KPIs: set its "
                "status instead.",
            ),
        }
    ),
)
class AccountViewSet(
    _sync("accounts", serializers.AccountSerializer, serializers.AccountSyncRowSerializer),
    ExportMixin,
    FastListMixin,
    ScopedModelViewSet,
):
    """Accounts. A rep sees the accounts currently in their territories."""

    queryset = Account.objects.all()
    serializer_class = serializers.AccountSerializer
    filterset_class = AccountFilterSet
    pagination_class = LargeListCursorPagination
    fast_list_columns = {name: name for name in serializers.AccountSerializer.Meta.fields}
    export_name = "accounts"
    search_fields = ("name", "external_id", "city", "postal_code")
    # No nullable column: a cursor position cannot stand on an empty value (LargeListCursorPagination).
    ordering_fields = ("id", "name", "created_at", "updated_at")
    ordering = ("-id",)
    write_roles = SYNC_ROLES

    def perform_create(self, serializer):
        refusal = account_create_refusal(user=self.request.user)
        if refusal:
            raise PermissionDenied(refusal)
        super().perform_create(serializer)

    def perform_update(self, serializer):
        refusals = account_update_refusal(
            user=self.request.user, account=serializer.instance, values=serializer.validated_data
        )
        if refusals:
            raise ValidationError({name: [message] for name, message in refusals.items()})
        super().perform_update(serializer)

    def perform_destroy(self, instance):
        refusal = account_delete_refusal(account=instance)
        if refusal:
            raise Conflict(refusal)
        super().perform_destroy(instance)

    def after_write(self, instance, *, action, changes):
        if action != "delete":
            # The engine reassigns on commit, and only when a field its rules read has changed.
            hook_call(
                "territories.services",
                "account_changed",
                account_id=instance.pk,
                created=action == "create",
                changed_fields=set(changes),
            )


class ProductLineViewSet(ScopedModelViewSet):
    queryset = ProductLine.objects.all()
    serializer_class = serializers.ProductLineSerializer
    filterset_class = ProductLineFilterSet
    search_fields = ("code", "name")
    ordering_fields = ("id", "code", "name")
    ordering = ("name",)
    write_roles = SYNC_ROLES


class ProductViewSet(
    _sync("products", serializers.ProductSerializer, serializers.ProductSyncRowSerializer), ScopedModelViewSet
):
    queryset = Product.objects.all()
    serializer_class = serializers.ProductSerializer
    filterset_class = ProductFilterSet
    search_fields = ("name", "sku", "external_id")
    ordering_fields = ("id", "name", "sku", "list_price")
    ordering = ("name", "id")
    write_roles = SYNC_ROLES


class CampaignViewSet(ScopedModelViewSet):
    queryset = Campaign.objects.all()
    serializer_class = serializers.CampaignSerializer
    filterset_class = CampaignFilterSet
    search_fields = ("name", "external_id")
    ordering_fields = ("id", "name", "starts_on", "ends_on", "budget")
    ordering = ("name",)
    write_roles = SYNC_ROLES


class DealViewSet(
    _sync("deals", serializers.DealSerializer, serializers.DealSyncRowSerializer),
    ExportMixin,
    FastListMixin,
    ScopedModelViewSet,
):
    """Deals. A rep sees deals of accounts in their territories, and deals they are the rep of."""

    queryset = Deal.objects.all()
    serializer_class = serializers.DealSerializer
    filterset_class = DealFilterSet
    pagination_class = LargeListCursorPagination
    fast_list_columns = {
        name: f"{name}_id" if name in ("account", "product", "rep", "campaign") else name
        for name in serializers.DealSerializer.Meta.fields
        if name != "is_open"
    }
    fast_list_expressions = {"is_open": ~Q(stage__in=CLOSED_STAGES)}
    export_name = "deals"
    search_fields = ("name", "external_id")
    # No closed_on / expected_close_on: they may be empty, and a cursor position cannot stand on that.
    ordering_fields = ("id", "created_on", "amount", "updated_at")
    ordering = ("-id",)
    write_roles = SYNC_ROLES

    def after_write(self, instance, *, action, changes):
        moved = action == "create" or bool({"account_id", "product_id"} & set(changes))
        deals_changed_on_commit([instance.pk], [instance.pk] if moved else [])
