from django.contrib import admin

from accounts.models import Account, Campaign, Deal, Product, ProductLine


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "external_id",
        "industry",
        "business_type",
        "employees",
        "country",
        "region",
        "city",
        "status",
    )
    list_filter = ("status", "business_type", "industry", "country")
    search_fields = ("name", "external_id", "city", "postal_code")
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "external_id", "product_line", "list_price")
    list_filter = ("product_line",)
    list_select_related = ("product_line",)
    search_fields = ("name", "sku", "external_id")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "starts_on", "ends_on", "budget")
    list_filter = ("channel",)
    search_fields = ("name", "external_id")


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "account",
        "product",
        "rep",
        "amount",
        "stage",
        "probability",
        "created_on",
        "closed_on",
    )
    list_filter = ("stage", "product__product_line", "campaign__channel")
    list_select_related = ("account", "product", "rep", "campaign")
    raw_id_fields = ("account", "product", "rep", "campaign")
    search_fields = ("external_id", "name", "account__name")
    date_hierarchy = "created_on"
    show_full_result_count = False
