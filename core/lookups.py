"""`field__any=[values]`: `field = ANY(%s)` with the list bound as one array.

Django's `__in` prepares and binds every value one by one; a rep's visible territories (hundreds of ids,
on every scoped query of every request) cost more there than the query itself did. An empty list matches
nothing, with no EmptyResultSet special case."""

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [[getattr(item, "pk", item) for item in value]]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own (ids or objects' pks)


class InCurrentTerritories(Lookup):
    """`account_column__in_current_territories=[territory ids]`: the account has a current (open)
    membership in one of the territories — core.access's rule for which accounts and deals a scoped caller
    sees. The same EXISTS the ORM builds from a subquery, written out: building and compiling that
    subquery on every scoped list cost more CPU than PostgreSQL spent running it."""

    lookup_name = "in_current_territories"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [[getattr(item, "pk", item) for item in value]]

    def as_sql(self, compiler, connection):
        from territories.models import AccountTerritoryMembership

        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        table = connection.ops.quote_name(AccountTerritoryMembership._meta.db_table)
        sql = (
            f"EXISTS (SELECT 1 FROM {table} m WHERE m.account_id = {lhs}"
            f" AND m.territory_id = ANY({rhs}) AND m.valid_to IS NULL)"
        )
        return sql, [*lhs_params, *rhs_params]


def account_lookups_register() -> None:
    """On the columns that hold an account id: the account's own id and the deal's account."""
    from accounts.models import Account, Deal

    Account._meta.pk.register_lookup(InCurrentTerritories)
    Deal._meta.get_field("account").register_lookup(InCurrentTerritories)
