from django.contrib import admin

from core.audit import AuditedAdminMixin
from territories.models import (
    AccountTerritoryMembership,
    AssignmentRun,
    DealTerritoryMembership,
    NamedAccount,
    RepAssignment,
    RuleCriterion,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)


@admin.register(TerritoryModel)
class TerritoryModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "code", "state", "effective_from", "activated_at", "created_at")
    list_filter = ("state",)
    search_fields = ("name", "code")
    raw_id_fields = ("copied_from", "created_by")
    # Activation and archiving go through the alignment services (an atomic switch with the history's
    # rows), as in the API: an admin form setting the state would bypass them.
    readonly_fields = ("state", "effective_from", "activated_at", "archived_at")


class TerritoryRuleInline(admin.TabularInline):
    model = TerritoryRule
    extra = 0
    show_change_link = True


@admin.register(Territory)
class TerritoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "territory_model", "parent", "priority", "value_tier")
    list_filter = ("territory_model", "kind", "value_tier")
    list_select_related = ("territory_model", "parent")
    raw_id_fields = ("parent",)
    search_fields = ("code", "name")
    inlines = [TerritoryRuleInline]


class RuleCriterionInline(admin.TabularInline):
    model = RuleCriterion
    extra = 1


@admin.register(TerritoryRule)
class TerritoryRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "territory", "position")
    list_select_related = ("territory",)
    raw_id_fields = ("territory",)
    search_fields = ("name", "territory__code", "territory__name")
    inlines = [RuleCriterionInline]


@admin.register(NamedAccount)
class NamedAccountAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("territory", "account")
    list_select_related = ("territory", "account")
    raw_id_fields = ("territory", "account")
    search_fields = ("territory__code", "account__name", "account__external_id")


@admin.register(TerritoryOverride)
class TerritoryOverrideAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("account", "territory", "reason", "created_by", "created_at")
    list_select_related = ("account", "territory", "created_by")
    raw_id_fields = ("account", "territory", "created_by")
    search_fields = ("account__name", "territory__code", "reason")


@admin.register(RepAssignment)
class RepAssignmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("rep", "territory", "role", "start_date", "end_date", "allocation_percent")
    list_filter = ("role", "territory__territory_model")
    list_select_related = ("rep", "territory")
    raw_id_fields = ("rep", "territory")
    search_fields = ("rep__name", "territory__code", "territory__name")


@admin.register(AccountTerritoryMembership)
class AccountTerritoryMembershipAdmin(admin.ModelAdmin):
    list_display = ("account", "territory", "valid_from", "valid_to", "source")
    list_filter = ("source", "territory__kind")
    list_select_related = ("account", "territory")
    raw_id_fields = ("account", "territory")
    search_fields = ("account__external_id", "territory__code")
    show_full_result_count = False


@admin.register(DealTerritoryMembership)
class DealTerritoryMembershipAdmin(admin.ModelAdmin):
    list_display = ("deal", "territory", "valid_from", "valid_to")
    list_select_related = ("deal", "territory")
    raw_id_fields = ("deal", "territory")
    search_fields = ("deal__external_id", "territory__code")
    show_full_result_count = False


@admin.register(AssignmentRun)
class AssignmentRunAdmin(admin.ModelAdmin):
    list_display = ("id", "territory_model", "status", "phase", "progress", "dry_run", "created_at", "finished_at")
    list_filter = ("status", "dry_run")
    list_select_related = ("territory_model",)
    raw_id_fields = ("territory_model", "requested_by")
