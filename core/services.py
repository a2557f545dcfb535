from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from core.models import ApiToken
from core.roles import ALL_ROLES


def role_groups_ensure() -> list[Group]:
    return [Group.objects.get_or_create(name=name)[0] for name in ALL_ROLES]


def api_token_create(
    *, user, name: str, scope: str = ApiToken.Scope.READ, expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for user; returns (token, key). The key is shown once: only its hash is stored."""
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"scope must be one of {', '.join(ApiToken.Scope.values)}")
    if expires_days is not None and expires_days < 1:
        raise ValueError("expires_days must be at least 1")
    key = ApiToken.generate_key()
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        prefix=key[:12],
        key_hash=ApiToken.hash_key(key),
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent: a revoked token keeps its first revocation time)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
