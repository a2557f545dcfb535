import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from core.access import access_facts_attach
from core.models import ApiToken, ManagerScope
from core.prepared import prepared_execute


@functools.cache
def _token_sql() -> tuple[str, list[str], list[str]]:
    """One statement: the token, its user and what the access scope needs (group names, manager scope
    codes, rep id). Written out because it runs on every API request and the ORM's compile of the same
    joins and aggregates costs more than the query itself."""
    from django.contrib.auth.models import Group

    from reps.models import Rep

    user_model = get_user_model()
    token_columns = [field.column for field in ApiToken._meta.concrete_fields]
    user_columns = [field.column for field in user_model._meta.concrete_fields]
    groups = user_model._meta.get_field("groups").remote_field.through._meta.db_table
    select = ", ".join([*(f't."{c}"' for c in token_columns), *(f'u."{c}"' for c in user_columns)])
    sql = f"""
        SELECT {select},
            ARRAY(SELECT g.name FROM {groups} ug JOIN {Group._meta.db_table} g ON g.id = ug.group_id
                  WHERE ug.user_id = u.id),
            ARRAY(SELECT s.territory_code FROM {ManagerScope._meta.db_table} s WHERE s.user_id = u.id),
            (SELECT r.id FROM {Rep._meta.db_table} r WHERE r.user_id = u.id),
            -- core.access: descendants of the rep's assignments in force today in the active alignment,
            -- and of the scope codes
            ARRAY(SELECT c.descendant_id FROM territories_territoryclosure c
                  WHERE c.ancestor_id IN (
                      SELECT a.territory_id FROM territories_repassignment a
                      JOIN {Rep._meta.db_table} r ON r.id = a.rep_id
                      JOIN territories_territory at ON at.id = a.territory_id
                      JOIN territories_territorymodel am ON am.id = at.territory_model_id AND am.state = 'active'
                      WHERE r.user_id = u.id AND a.start_date <= %(today)s
                        AND (a.end_date IS NULL OR a.end_date >= %(today)s))),
            ARRAY(SELECT c.descendant_id FROM territories_territoryclosure c
                  WHERE c.ancestor_id IN (
                      SELECT x.id FROM territories_territory x
                      WHERE x.code IN (SELECT s.territory_code FROM {ManagerScope._meta.db_table} s
                                       WHERE s.user_id = u.id)))
        FROM {ApiToken._meta.db_table} t JOIN {user_model._meta.db_table} u ON u.id = t.user_id
        WHERE t.key_hash = %(key_hash)s
    """
    # Prepared once per connection: planning these joins took longer than running them (≈ 1.5 ms a request).
    sql = sql.replace("%(key_hash)s", "$1").replace("%(today)s", "$2")
    return (
        sql,
        [f.attname for f in ApiToken._meta.concrete_fields],
        [f.attname for f in user_model._meta.concrete_fields],
    )


def _token_with_user(key: str) -> ApiToken | None:
    sql, token_names, user_names = _token_sql()
    with connection.cursor() as cursor:
        prepared_execute(
            cursor,
            name="core_api_token_with_user",
            sql=sql,
            types="text, date",
            params=[ApiToken.hash_key(key), timezone.localdate()],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    token_values, rest = row[: len(token_names)], row[len(token_names) :]
    user_values, facts = rest[: len(user_names)], rest[len(user_names) :]
    role_names, scope_codes, rep_id, rep_territory_ids, scope_territory_ids = facts
    token = ApiToken.from_db(connection.alias, token_names, token_values)
    user = get_user_model().from_db(connection.alias, user_names, user_values)
    token.user = user
    access_facts_attach(
        user,
        role_names=set(role_names),
        scope_codes=list(scope_codes),
        rep_id=rep_id,
        rep_territory_ids=rep_territory_ids,
        scope_territory_ids=scope_territory_ids,
    )
    return token


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token tm_…`. Tokens are stored hashed and can expire or be revoked."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = _token_with_user(key)
        if token is None or not token.is_usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API token.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
