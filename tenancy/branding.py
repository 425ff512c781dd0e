"""Merchant branding: colour and font values checked for safety and for WCAG 2.x AA contrast.

Every value here ends up inside a <style> element, so the parsers accept a narrow grammar and
reject everything else rather than trying to escape it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# The light theme in static/storefront/site.css (--bg and --fg on :root).
PAGE_BACKGROUND = "#ffffff"
PAGE_TEXT = "#1b1b1f"
PAGE_MUTED = "#56565f"
# The dark theme there (:root[data-theme="dark"]), for embeds on dark host pages.
NIGHT_BACKGROUND = "#16171b"
NIGHT_TEXT = "#e6e6eb"
NIGHT_MUTED = "#a8a8b3"

# An embed's colour scheme: "auto" follows the buyer's prefers-color-scheme.
THEMES = ("light", "dark", "auto")

# What the site looks like without branding: keep in step with :root in site.css.
DEFAULT_PRIMARY = "#0b57d0"
DEFAULT_ACCENT = "#0b57d0"
DEFAULT_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'

# The two candidates for text on a brand colour: near-black reads softer than pure black.
DARK_TEXT = "#111111"
LIGHT_TEXT = "#ffffff"

# WCAG 2.x AA: 1.4.3 for text, 1.4.11 for user-interface components.
TEXT_MINIMUM = 4.5
UI_MINIMUM = 3.0

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# Measured after normalising, which adds quotes: the model field holds 200 characters.
_MAX_FONT_STACK = 200
_MAX_FAMILIES = 12
# Unquoted, these are CSS keywords rather than family names, so they are written quoted.
_RESERVED = {"inherit", "initial", "unset", "default", "revert", "revert-layer"}


def _shown(value: object) -> str:
    """A short repr of rejected input for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_colour(value: str) -> str:
    """Return a hex colour as lower-case #rrggbb; raise ValueError for anything else."""
    if not isinstance(value, str):
        raise ValueError(
            _("%(value)s is not a colour: use a hex code such as #0b57d0.")
            % {"value": _shown(value)}
        )
    text = value.strip()
    if not _HEX.fullmatch(text):
        raise ValueError(
            _("%(value)s is not a colour: use a hex code such as #0b57d0 or #fff.")
            % {"value": _shown(value)}
        )
    digits = text[1:].lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def _channels(colour: str) -> tuple[int, int, int]:
    digits = parse_colour(colour)[1:]
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _hex(channels: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, math.floor(c + 0.5))):02x}" for c in channels)


def _mix(colour: str, other: str, amount: float) -> str:
    """`colour` moved `amount` (0..1) of the way towards `other`, in sRGB like CSS color-mix."""
    a, b = _channels(colour), _channels(other)
    return _hex(
        (
            a[0] + (b[0] - a[0]) * amount,
            a[1] + (b[1] - a[1]) * amount,
            a[2] + (b[2] - a[2]) * amount,
        )
    )


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a hex colour, 0 (black) to 1 (white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = _channels(colour)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two hex colours, 1 to 21; the order does not matter."""
    la, lb = relative_luminance(a), relative_luminance(b)
    lighter, darker = max(la, lb), min(la, lb)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(background: str) -> str:
    """Near-black or white, whichever contrasts more with `background`."""
    dark = contrast_ratio(DARK_TEXT, background)
    light = contrast_ratio(LIGHT_TEXT, background)
    return LIGHT_TEXT if light > dark else DARK_TEXT


def format_ratio(ratio: float) -> str:
    """Two decimals, cut rather than rounded so a failing 4.497 never reads as 4.50."""
    return f"{math.floor(ratio * 100) / 100:.2f}:1"


def _minimum(required: float) -> str:
    return f"{required:g}:1"


@dataclass(frozen=True)
class Palette:
    """A merchant's colours together with the page they are shown on."""

    primary: str = DEFAULT_PRIMARY
    accent: str = DEFAULT_ACCENT
    background: str = PAGE_BACKGROUND
    text: str = PAGE_TEXT

    def __post_init__(self) -> None:
        for name in ("primary", "accent", "background", "text"):
            object.__setattr__(self, name, parse_colour(getattr(self, name)))

    @property
    def on_primary(self) -> str:
        """Text colour for labels on primary-coloured buttons."""
        return text_on(self.primary)

    @property
    def on_accent(self) -> str:
        """Text colour on accent-coloured badges."""
        return text_on(self.accent)

    @property
    def primary_ink(self) -> str:
        """Primary as a text colour on the page (outline buttons' labels).

        The primary colour only has to reach 3:1 as a UI colour, so where it falls short of 4.5:1
        as text it is moved towards the page text colour until it gets there.
        """
        if contrast_ratio(self.primary, self.background) >= TEXT_MINIMUM:
            return self.primary
        for step in range(1, 51):
            ink = _mix(self.primary, self.text, step / 50)
            if contrast_ratio(ink, self.background) >= TEXT_MINIMUM:
                return ink
        return self.text

    @property
    def primary_hover(self) -> str:
        """A shade of primary for hovered buttons that keeps both of primary's contrasts.

        Darker where the label stays readable (white labels); otherwise lighter if the button
        still stands out from the page; otherwise primary itself.
        """
        label = self.on_primary
        need_label = min(TEXT_MINIMUM, contrast_ratio(label, self.primary))
        need_page = min(UI_MINIMUM, contrast_ratio(self.primary, self.background))
        for towards in ("#000000", "#ffffff"):
            for amount in (0.15, 0.12, 0.09, 0.06):
                shade = _mix(self.primary, towards, amount)
                if (
                    contrast_ratio(label, shade) >= need_label
                    and contrast_ratio(shade, self.background) >= need_page
                ):
                    return shade
        return self.primary

    def _towards_text(self, colour: str, minimum: float) -> str:
        if contrast_ratio(colour, self.background) >= minimum:
            return colour
        for step in range(1, 51):
            moved = _mix(colour, self.text, step / 50)
            if contrast_ratio(moved, self.background) >= minimum:
                return moved
        return self.text

    def readable(self) -> Palette:
        """This palette with primary and accent moved towards the text colour until each
        passes on this background: what a theme the merchant's colours were not checked
        against shows (a host page may ask for either)."""
        return replace(
            self,
            primary=self._towards_text(self.primary, UI_MINIMUM),
            accent=self._towards_text(self.accent, TEXT_MINIMUM),
        )

    def field_problems(self) -> dict[str, list[str]]:
        """Every WCAG AA failure keyed by form field ("primary_colour", "accent_colour")."""
        found: dict[str, list[str]] = {"primary_colour": [], "accent_colour": []}
        ratio = contrast_ratio(self.primary, self.background)
        if ratio < UI_MINIMUM:
            found["primary_colour"].append(
                (
                    _(
                        "Primary colour %(colour)s on the page background has a contrast of "
                        "%(ratio)s; buttons and focus outlines need at least %(minimum)s."
                    )
                    if self.background == PAGE_BACKGROUND
                    else _(
                        "Primary colour %(colour)s on the page background %(background)s has a "
                        "contrast of %(ratio)s; buttons and focus outlines need at least "
                        "%(minimum)s."
                    )
                )
                % {
                    "colour": self.primary,
                    "background": self.background,
                    "ratio": format_ratio(ratio),
                    "minimum": _minimum(UI_MINIMUM),
                }
            )
        ratio = contrast_ratio(self.on_primary, self.primary)
        if ratio < TEXT_MINIMUM:
            found["primary_colour"].append(
                _(
                    "Label colour %(label)s on primary colour %(colour)s has a contrast of "
                    "%(ratio)s (the better of near-black and white); button labels need at "
                    "least %(minimum)s."
                )
                % {
                    "label": self.on_primary,
                    "colour": self.primary,
                    "ratio": format_ratio(ratio),
                    "minimum": _minimum(TEXT_MINIMUM),
                }
            )
        ratio = contrast_ratio(self.accent, self.background)
        if ratio < TEXT_MINIMUM:
            found["accent_colour"].append(
                (
                    _(
                        "Accent colour %(colour)s on the page background has a contrast of "
                        "%(ratio)s; links need at least %(minimum)s."
                    )
                    if self.background == PAGE_BACKGROUND
                    else _(
                        "Accent colour %(colour)s on the page background %(background)s has a "
                        "contrast of %(ratio)s; links need at least %(minimum)s."
                    )
                )
                % {
                    "colour": self.accent,
                    "background": self.background,
                    "ratio": format_ratio(ratio),
                    "minimum": _minimum(TEXT_MINIMUM),
                }
            )
        ratio = contrast_ratio(self.on_accent, self.accent)
        if ratio < TEXT_MINIMUM:
            found["accent_colour"].append(
                _(
                    "Text colour %(text)s on accent colour %(colour)s has a contrast of "
                    "%(ratio)s (the better of near-black and white); text on accent-coloured "
                    "badges needs at least %(minimum)s."
                )
                % {
                    "text": self.on_accent,
                    "colour": self.accent,
                    "ratio": format_ratio(ratio),
                    "minimum": _minimum(TEXT_MINIMUM),
                }
            )
        return found

    def problems(self) -> list[str]:
        """Every WCAG AA failure as a sentence for the merchant; empty when the palette passes."""
        return [message for messages in self.field_problems().values() for message in messages]


def _is_identifier(word: str) -> bool:
    """A CSS identifier made only of the characters family names may use here."""
    body = word[1:] if word.startswith("-") else word
    return bool(body) and body[0].isalpha() and all(c.isalnum() or c == "-" for c in body)


def _family(item: str, whole: str) -> str:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'":
        name, quoted = item[1:-1], True
    else:
        name, quoted = item, False
    words = name.split()
    if not words or any(
        not all(c.isalpha() or c.isdigit() or c == "-" for c in word) for word in words
    ):
        raise ValueError(
            _(
                "%(value)s is not a font list: use family names separated by commas, "
                'such as Inter, "Segoe UI", sans-serif (letters, digits, spaces and hyphens '
                "only)."
            )
            % {"value": _shown(whole)}
        )
    name = " ".join(words)
    # A single plain identifier stays bare so generic families (sans-serif, system-ui) keep
    # their meaning; anything else is quoted, which is also valid for names like "Source Sans 3".
    if not quoted and len(words) == 1 and _is_identifier(name) and name.lower() not in _RESERVED:
        return name
    return f'"{name}"'


def parse_font_stack(value: str | None) -> str:
    """Return a CSS font-family list normalised to `a, "b c", d`; raise ValueError if unsafe.

    Empty input means the site's default stack.
    """
    if value is None:
        return DEFAULT_FONT
    if not isinstance(value, str):
        raise ValueError(_("%(value)s is not a font list.") % {"value": _shown(value)})
    text = value.strip()
    if not text:
        return DEFAULT_FONT
    too_long = _("A font list can be at most %(count)s characters long.") % {
        "count": _MAX_FONT_STACK
    }
    if len(text) > _MAX_FONT_STACK:
        raise ValueError(too_long)
    items = [item.strip() for item in text.split(",")]
    if len(items) > _MAX_FAMILIES:
        raise ValueError(
            _("A font list can name at most %(count)s families.") % {"count": _MAX_FAMILIES}
        )
    stack = ", ".join(_family(item, value) for item in items)
    if len(stack) > _MAX_FONT_STACK:
        raise ValueError(too_long)
    return stack


@dataclass(frozen=True)
class Theme:
    """A page's own colours: background, body text, secondary text."""

    name: str  # "light" or "dark"
    background: str
    text: str
    muted: str

    @property
    def line(self) -> str:
        """Borders and rules: a faint step from the background towards the text."""
        return _mix(self.background, self.text, 0.18)


LIGHT = Theme("light", PAGE_BACKGROUND, PAGE_TEXT, PAGE_MUTED)
NIGHT = Theme("dark", NIGHT_BACKGROUND, NIGHT_TEXT, NIGHT_MUTED)
_DEFAULT_THEMES = {"light": LIGHT, "dark": NIGHT}


def theme_for(background: str) -> Theme:
    """The theme a merchant's background colour belongs to (the one whose text contrasts
    more with it), on that background, with secondary text as faint as still reads."""
    colour = parse_colour(background)
    light_text = contrast_ratio(NIGHT_TEXT, colour) > contrast_ratio(PAGE_TEXT, colour)
    base = NIGHT if light_text else LIGHT
    if colour == base.background:
        return base
    muted = base.text
    for step in range(1, 9):
        candidate = _mix(base.text, colour, step / 20)
        if contrast_ratio(candidate, colour) < TEXT_MINIMUM:
            break
        muted = candidate
    return Theme(base.name, colour, base.text, muted)


def themes_of(background: str = "") -> dict[str, Theme]:
    """The light and dark themes of a merchant's embeds: its background colour replaces the
    background of the one it suits."""
    themes = dict(_DEFAULT_THEMES)
    if background:
        custom = theme_for(background)
        themes[custom.name] = custom
    return themes


def checked_themes(setting: str, background: str = "") -> list[Theme]:
    """The themes a merchant's colours must pass on: those its theme setting shows."""
    themes = themes_of(background)
    return list(themes.values()) if setting == "auto" else [themes.get(setting, LIGHT)]


def background_problems(setting: str, background: str) -> list[str]:
    """Why a merchant's background colour cannot be used with its theme setting."""
    if not background:
        return []
    theme = theme_for(background)
    found = []
    ratio = contrast_ratio(theme.text, theme.background)
    if ratio < TEXT_MINIMUM:
        found.append(
            _(
                "Text colour %(text)s on background colour %(colour)s has a contrast of "
                "%(ratio)s; text needs at least %(minimum)s. Choose a lighter or a darker "
                "background."
            )
            % {
                "text": theme.text,
                "colour": theme.background,
                "ratio": format_ratio(ratio),
                "minimum": _minimum(TEXT_MINIMUM),
            }
        )
    if setting not in ("auto", theme.name):
        found.append(
            (
                # The setting is the other of the two themes.
                _(
                    "Background colour %(colour)s is a dark background, for the dark or auto "
                    "theme; this merchant's theme is light."
                )
                if theme.name == "dark"
                else _(
                    "Background colour %(colour)s is a light background, for the light or auto "
                    "theme; this merchant's theme is dark."
                )
            )
            % {"colour": theme.background}
        )
    return found


def _declarations(
    primary: str, accent: str, theme: Theme, font_stack: str | None = None
) -> dict[str, str]:
    palette = Palette(primary, accent, theme.background, theme.text).readable()
    declarations = {
        "--brand-primary": palette.primary,
        "--brand-primary-hover": palette.primary_hover,
        "--brand-primary-ink": palette.primary_ink,
        "--brand-on-primary": palette.on_primary,
        "--brand-accent": palette.accent,
        "--brand-on-accent": palette.on_accent,
    }
    if font_stack is not None:
        declarations["--brand-font"] = parse_font_stack(font_stack)
    if theme != _DEFAULT_THEMES[theme.name]:
        declarations |= {
            "--bg": theme.background,
            "--fg": theme.text,
            "--muted": theme.muted,
            "--line": theme.line,
        }
    return declarations


def _text(declarations: dict[str, str]) -> str:
    return "".join(f"{name}:{value};" for name, value in declarations.items())


def css_variables(
    primary: str, accent: str, font_stack: str | None, theme: Theme = LIGHT
) -> SafeString:
    """The --brand-* declarations for a <style> rule, e.g. `:root{...}`, on `theme`'s
    background (with its --bg, --fg, --muted and --line when they are a merchant's own).

    Raises ValueError if a value does not parse. Colours that fall short of WCAG AA on the
    background are moved towards the text colour until they pass (the admin form refuses
    them for the merchant's own theme, with Palette.problems()); every value is parsed
    first, so the text can only contain hex colours and a checked font list.
    """
    text = _text(_declarations(primary, accent, theme, font_stack or ""))
    # Safe to mark: only hex colours and a font list of letters, digits, spaces, hyphens, commas
    # and double quotes, so no "<" to close the element; autoescaping the quotes would break CSS.
    return mark_safe(text)  # noqa: S308


def dark_variables(primary: str, accent: str, background: str = "") -> SafeString:
    """The dark theme's declarations (no font: it is the light rule's)."""
    text = _text(_declarations(primary, accent, themes_of(background)["dark"]))
    return mark_safe(text)  # noqa: S308  # hex colours only, as above


def stylesheet(primary: str, accent: str, font_stack: str | None, background: str = "") -> str:
    """A merchant's brand.css: the light theme on :root, the dark one where an embed asks
    for it (data-theme="dark") or follows the buyer's dark preference (data-theme="auto")."""
    light = css_variables(primary, accent, font_stack, themes_of(background)["light"])
    dark = dark_variables(primary, accent, background)
    return (
        f":root{{{light}}}\n"
        f':root[data-theme="dark"]{{{dark}}}\n'
        f'@media (prefers-color-scheme: dark){{:root[data-theme="auto"]{{{dark}}}}}\n'
    )
