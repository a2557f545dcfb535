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
