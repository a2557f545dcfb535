"""Who may write through the API. Reading is decided by visible_to(user); writing also by role and token scope."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import roles
from core.models import ApiToken

# Alignment, reps, targets and KPI settings: managers only. Reps never change them.
MANAGE_ROLES = frozenset({roles.ADMIN, roles.SALES_MANAGER})
# What a CRM syncs in (accounts, deals, products, campaigns): managers and integrations.
SYNC_ROLES = frozenset({roles.ADMIN, roles.SALES_MANAGER, roles.INTEGRATION})


def token_allows_write(request) -> bool:
    token = getattr(request, "auth", None)
    return not isinstance(token, ApiToken) or token.scope == ApiToken.Scope.READ_WRITE


class RoleWritePermission(BasePermission):
    """Safe methods pass (visibility is filtered elsewhere); writes need a role in view.write_roles
    and, when authenticated by token, a read-write token."""

    message = "You may read this resource but not change it."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        if not token_allows_write(request):
            self.message = "This API token is read-only."
            return False
        allowed = getattr(view, "write_roles", MANAGE_ROLES)
        return bool(roles.user_roles(request.user) & allowed)


class ManagersOnly(BasePermission):
    message = "Only managers may read this resource."

    def has_permission(self, request, view):
        return roles.is_manager(request.user)
