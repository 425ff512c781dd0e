from typing import TYPE_CHECKING

from django.contrib import admin

from .models import OnSale

# Django's ModelAdmin takes no type parameters at run time; the stubs' does.
if TYPE_CHECKING:
    _OnSaleModelAdmin = admin.ModelAdmin[OnSale]
else:
    _OnSaleModelAdmin = admin.ModelAdmin


@admin.register(OnSale)
class OnSaleAdmin(_OnSaleModelAdmin):
    list_display = ("merchant_slug", "event_id", "opens_at")
    search_fields = ("merchant_slug", "event_id")
    ordering = ("-opens_at",)
