"""A merchant: one Guest Manager company sold through this deployment, with its own API
credentials, branding, embed origins and domains."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import branding, crypto

SLUG_RE = r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?"
_HOST_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(:\d{1,5})?$"
)


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def normalise_origin(value: str) -> str:
    """``https://Shop.Example/`` -> ``https://shop.example``; anything but an origin is refused."""
    parts = urlsplit(value.strip())
    host = (parts.netloc or "").lower()
    if (
        parts.scheme not in {"http", "https"}
        or not _HOST_RE.match(host)
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
    ):
        raise ValidationError(
            _("%(value)s is not an origin: use scheme and host only, like https://www.example.com"),
            params={"value": value.strip()[:100]},
        )
    return f"{parts.scheme}://{host}"


def normalise_domain(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if not _HOST_RE.match(host):
        raise ValidationError(
            _("%(value)s is not a host name, like tickets.example.com"),
            params={"value": value.strip()[:100]},
        )
    return host


class Merchant(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.CharField(
        _("slug"),
        max_length=50,
        unique=True,
        validators=[RegexValidator(f"^{SLUG_RE}$", _("Lower-case letters, digits and hyphens."))],
        help_text=_("Its pages live under /m/<slug>/ and embeds name it in data-merchant."),
    )
    active = models.BooleanField(_("active"), default=True)
    company_id = models.PositiveBigIntegerField(
        _("company id"),
        null=True,
        blank=True,
        unique=True,
        help_text=_("The Guest Manager company (Enterprise)."),
    )
    api_url = models.URLField(
        _("API URL"),
        help_text=_("The public API's base, e.g. https://app.guestmanager.com/api/public/v2"),
    )
    api_key_encrypted = models.TextField(editable=False, default="")
    api_key_hint = models.CharField(max_length=8, editable=False, default="")
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("A three-letter ISO 4217 code, like USD."))],
    )
    locale = models.CharField(
        _("locale"),
        max_length=10,
        blank=True,
        default="",
        help_text=_(
            "The language its pages speak, one of the languages this deployment ships; "
            "blank: each buyer's browser decides."
        ),
    )
    logo_url = models.URLField(_("logo URL"), blank=True)
    primary_colour = models.CharField(
        _("primary colour"), max_length=7, default=branding.DEFAULT_PRIMARY
    )
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default=branding.DEFAULT_ACCENT
    )
    font_stack = models.CharField(_("font stack"), max_length=200, blank=True)
    theme = models.CharField(
        _("embed theme"),
        max_length=5,
        choices=[
            ("light", _("Light")),
            ("dark", _("Dark")),
            ("auto", _("Auto (the buyer's preference)")),
        ],
        default="light",
        help_text=_("How embeds look; a page can ask for another with data-theme."),
    )
    background_colour = models.CharField(
        _("background colour"),
        max_length=7,
        blank=True,
        help_text=_(
            "The embed's background; empty for the theme's own. A dark colour is the "
            "dark theme's background, a light one the light theme's."
        ),
    )
    embed_origins = models.TextField(
        _("embed origins"),
        blank=True,
        help_text=_(
            "Sites allowed to embed this storefront, one origin per line "
            "(https://www.example.com). Others are refused framing."
        ),
    )
    domains = models.TextField(
        _("domains"),
        blank=True,
        help_text=_("Custom domains serving this storefront, one host name per line."),
    )
    support_email = models.EmailField(_("support email"), blank=True)
    terms_url = models.URLField(_("terms URL"), blank=True)
    privacy_url = models.URLField(_("privacy policy URL"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self) -> str:
        return self.name

    def set_api_key(self, plain: str) -> None:
        self.api_key_encrypted = crypto.encrypt(plain)
        self.api_key_hint = plain[-4:] if len(plain) >= 12 else ""

    @property
    def api_key(self) -> str:
        return crypto.decrypt(self.api_key_encrypted) if self.api_key_encrypted else ""

    def origin_list(self) -> list[str]:
        return lines(self.embed_origins)

    def domain_list(self) -> list[str]:
        return lines(self.domains)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        self._clean_lines("embed_origins", normalise_origin, errors)
        self._clean_lines("domains", normalise_domain, errors)
        if self.locale and self.locale not in dict(settings.LANGUAGES):
            shipped = ", ".join(dict(settings.LANGUAGES))
            errors["locale"] = [
                gettext("Not a language this deployment ships (%(codes)s).") % {"codes": shipped}
            ]
        taken = self._domains_taken()
        if taken:
            errors.setdefault("domains", []).append(
                gettext("Already used by another merchant: %(domains)s.")
                % {"domains": ", ".join(sorted(taken))}
            )
        for name, problems in self._branding_problems().items():
            errors.setdefault(name, []).extend(problems)
        if errors:
            raise ValidationError(errors)

    def _clean_lines(
        self, name: str, normalise: Callable[[str], str], errors: dict[str, list[str]]
    ) -> None:
        values: list[str] = []
        problems: list[str] = []
        for line in lines(getattr(self, name)):
            try:
                values.append(normalise(line))
            except ValidationError as exc:
                problems += exc.messages
        if problems:
            errors[name] = problems
        else:
            setattr(self, name, "\n".join(dict.fromkeys(values)))

    def _domains_taken(self) -> set[str]:
        mine = set(self.domain_list())
        if not mine:
            return set()
        others = Merchant.objects.exclude(pk=self.pk).exclude(domains="")
        return mine & {d for m in others.only("domains") for d in m.domain_list()}

    def _branding_problems(self) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        colours = {}
        for name in ("primary_colour", "accent_colour"):
            try:
                colours[name] = branding.parse_colour(getattr(self, name))
                setattr(self, name, colours[name])
            except ValueError as exc:
                problems[name] = [str(exc)]
        background = ""
        if self.background_colour.strip():
            try:
                background = self.background_colour = branding.parse_colour(self.background_colour)
                found = branding.background_problems(self.theme, background)
                if found:
                    problems["background_colour"] = found
            except ValueError as exc:
                problems["background_colour"] = [str(exc)]
        else:
            self.background_colour = ""
        try:
            self.font_stack = branding.parse_font_stack(self.font_stack) if self.font_stack else ""
        except ValueError as exc:
            problems["font_stack"] = [str(exc)]
        if len(colours) == 2 and "background_colour" not in problems:
            # On every background the merchant's theme shows (both, for auto).
            for theme in branding.checked_themes(self.theme, background):
                palette = branding.Palette(
                    colours["primary_colour"],
                    colours["accent_colour"],
                    theme.background,
                    theme.text,
                )
                for name, found in palette.field_problems().items():
                    if found:
                        problems.setdefault(name, []).extend(found)
        return problems
