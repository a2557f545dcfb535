"""The four roles, as Django groups. Access decisions read them through these helpers only."""

ADMIN = "Admin"
SALES_MANAGER = "Sales manager"
SALES_REP = "Sales rep"
INTEGRATION = "Integration"

ALL_ROLES = (ADMIN, SALES_MANAGER, SALES_REP, INTEGRATION)


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ADMIN)
        user._role_names = cached
    return cached


def user_roles_attach(user, group_names: set[str]) -> None:
    """Give user_roles the group names already loaded with the user (saves its query)."""
    user._role_names = set(group_names) | ({ADMIN} if user.is_superuser else set())


def is_manager(user) -> bool:
    """Admins and sales managers manage the alignment and see all (or their scoped subtree)."""
    return bool(user_roles(user) & {ADMIN, SALES_MANAGER})
