from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core import roles
from core.api.permissions import ManagersOnly, RoleWritePermission
from core.api.serializers import ApiTokenCreatedSerializer, ApiTokenSerializer, AuditEntrySerializer
from core.api.viewsets import ScopedQuerysetMixin
from core.filtersets import AuditEntryFilterSet
from core.models import ApiToken, AuditEntry
from core.services import api_token_create, api_token_revoke


class ApiTokenViewSet(
    ScopedQuerysetMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Your own API tokens. Creating one shows its key once; deleting one revokes it (it stays listed)."""

    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenSerializer
    write_roles = frozenset(roles.ALL_ROLES)
    filterset_class = None
    search_fields = ("name", "prefix")
    ordering_fields = ("id", "created_at")
    ordering = ("-created_at", "-id")

    @extend_schema(responses={201: ApiTokenCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = api_token_create(
            user=request.user,
            name=serializer.validated_data["name"],
            scope=serializer.validated_data.get("scope", ApiToken.Scope.READ),
            expires_days=serializer.validated_data.get("expires_days"),
        )
        token.key = key
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        api_token_revoke(token=instance)


class AuditEntryViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Who changed a territory, rule, override, assignment or target, when, and what changed (managers)."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    permission_classes = [IsAuthenticated, ManagersOnly, RoleWritePermission]
    select_related = ("user",)
    filterset_class = AuditEntryFilterSet
    search_fields = ("object_repr", "territory_code", "object_id")
    ordering_fields = ("id", "at")
    ordering = ("-at", "-id")
