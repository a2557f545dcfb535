import django_tables2 as tables


class IsoDateColumn(tables.Column):
    """A date as YYYY-MM-DD without a template per cell (django-tables2's DateColumn renders one)."""

    def render(self, value):
        return value.isoformat()

    def value(self, value):
        return value
