from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Merchant

# Django's ModelForm and ModelAdmin take no type parameters at run time; the stubs' do.
if TYPE_CHECKING:
    _MerchantModelForm = forms.ModelForm[Merchant]
    _MerchantModelAdmin = admin.ModelAdmin[Merchant]
else:
    _MerchantModelForm = forms.ModelForm
    _MerchantModelAdmin = admin.ModelAdmin


class MerchantForm(_MerchantModelForm):
    """The API key is write-only: it is never shown again, only replaced."""

    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = Merchant
        fields = [
            "name",
            "slug",
            "active",
            "company_id",
            "api_url",
            "currency",
            "locale",
            "support_email",
            "terms_url",
            "privacy_url",
            "logo_url",
            "primary_colour",
            "accent_colour",
            "font_stack",
            "theme",
            "background_colour",
            "embed_origins",
            "domains",
        ]
        widgets = {
            "primary_colour": forms.TextInput(attrs={"type": "color"}),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
            # Text, not a colour picker: empty (the theme's own background) must stay possible.
            "background_colour": forms.TextInput(attrs={"placeholder": "#16171b", "size": 8}),
            "embed_origins": forms.Textarea(attrs={"rows": 3}),
            "domains": forms.Textarea(attrs={"rows": 2}),
            "locale": forms.Select(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The shipped languages, each named in itself, or none: the buyer's browser decides.
        locale = self.fields["locale"].widget
        assert isinstance(locale, forms.Select)
        locale.choices = [("", gettext("The buyer’s browser decides")), *settings.LANGUAGES]
        # Empty: the currency the merchant's API prices its tickets in (never a guess that
        # would hide every type priced otherwise).
        currency = self.fields["currency"]
        currency.required = False
        currency.help_text = gettext(
            "Leave empty to sell in the currency the API prices tickets in."
        )
        if not self.instance.pk:
            currency.initial = ""
        field = self.fields["api_key"]
        if self.instance.api_key_encrypted:
            hint = self.instance.api_key_hint
            field.help_text = (
                gettext(
                    "A key is stored (ending …%(hint)s). "
                    "Enter a new one to replace it; leave empty to keep it."
                )
                % {"hint": hint}
                if hint
                else gettext(
                    "A key is stored. Enter a new one to replace it; leave empty to keep it."
                )
            )
        else:
            field.required = True
            field.help_text = gettext(
                "A read and write key of the merchant's Guest Manager company."
            )

    def save(self, commit: bool = True) -> Merchant:
        if self.cleaned_data.get("api_key"):
            self.instance.set_api_key(self.cleaned_data["api_key"])
        return super().save(commit)


@admin.register(Merchant)
class MerchantAdmin(_MerchantModelAdmin):
    form = MerchantForm
    list_display = ("name", "slug", "active", "currency", "company_id", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "slug", "domains")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "active", "company_id")}),
        (_("Guest Manager API"), {"fields": ("api_url", "api_key")}),
        (
            _("Storefront"),
            {"fields": ("currency", "locale", "support_email", "terms_url", "privacy_url")},
        ),
        (
            _("Branding"),
            {
                "fields": (
                    "logo_url",
                    "primary_colour",
                    "accent_colour",
                    "font_stack",
                    "theme",
                    "background_colour",
                )
            },
        ),
        (_("Embedding and domains"), {"fields": ("embed_origins", "domains")}),
    )
