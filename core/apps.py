from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core import lookups  # registers the `__any` lookup

        lookups.account_lookups_register()
