from django.contrib import admin

from .models import OnSale


@admin.register(OnSale)
class OnSaleAdmin(admin.ModelAdmin):
    list_display = ("merchant_slug", "event_id", "opens_at")
    search_fields = ("merchant_slug", "event_id")
    ordering = ("-opens_at",)
