"""Merchant branding values: WCAG contrast checks and the parsers that guard the <style> block."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString

from tenancy.branding import (
    DEFAULT_ACCENT,
    DEFAULT_FONT,
    DEFAULT_PRIMARY,
    LIGHT,
    NIGHT,
    NIGHT_BACKGROUND,
    NIGHT_MUTED,
    NIGHT_TEXT,
    PAGE_BACKGROUND,
    PAGE_TEXT,
    Palette,
    background_problems,
    contrast_ratio,
    css_variables,
    dark_variables,
    format_ratio,
    parse_colour,
    parse_font_stack,
    relative_luminance,
    stylesheet,
    text_on,
    theme_for,
    themes_of,
)

SITE_CSS = Path(__file__).resolve().parent.parent / "static" / "storefront" / "site.css"

# What an attacker would try to smuggle out of a CSS value inside a <style> element.
HOSTILE = [
    "red;}body{display:none",
    '#fff"></style><script>alert(1)</script>',
    "#fff</style>",
    "url(x)",
    "url(https://evil.example/x.png)",
    "expression(alert(1))",
    "@import 'x'",
    "a;b",
    "a{",
    "a}",
    "<b>",
    "x\\65 xpression(1)",
    "/* */",
    "x!important",
    "a:b",
    "x\x00",
]


def declarations(text: str) -> dict[str, str]:
    return dict(
        (name.strip(), value.strip())
        for name, _, value in (part.partition(":") for part in text.split(";") if part.strip())
    )


def root_block() -> str:
    match = re.search(r":root\s*\{(.*?)\}", SITE_CSS.read_text(), re.S)
    assert match
    return re.sub(r"/\*.*?\*/", "", match.group(1), flags=re.S)


# --- Contrast ----------------------------------------------------------------------------


def test_luminance_ends():
    assert relative_luminance("#000") == 0
    assert relative_luminance("#fff") == pytest.approx(1)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#000000", 21.0),
        ("#777777", "#ffffff", 4.48),
        ("#767676", "#ffffff", 4.54),
        ("#0b57d0", "#ffffff", 6.39),
        ("#ffcc00", "#ffffff", 1.51),
        ("#123456", "#123456", 1.0),
    ],
)
def test_known_ratios(a, b, expected):
    assert contrast_ratio(a, b) == pytest.approx(expected, abs=0.005)


def test_ratio_is_cut_not_rounded_for_display():
    # #777 on white is 4.478:1: rounding would show a failing pair nearer to passing.
    assert format_ratio(contrast_ratio("#777", "#fff")) == "4.47:1"
    assert format_ratio(4.4999) == "4.49:1"
    assert format_ratio(21) == "21.00:1"


@pytest.mark.parametrize(
    ("background", "expected"),
    [
        ("#ffffff", "#111111"),
        ("#ffcc00", "#111111"),
        ("#808080", "#111111"),
        ("#000000", "#ffffff"),
        ("#0b57d0", "#ffffff"),
        ("#767676", "#ffffff"),
        ("#b3261e", "#ffffff"),
    ],
)
def test_text_on_picks_the_higher_contrast(background, expected):
    assert text_on(background) == expected
    other = "#ffffff" if expected == "#111111" else "#111111"
    assert contrast_ratio(expected, background) > contrast_ratio(other, background)


# --- Palette -----------------------------------------------------------------------------


def test_page_colours_match_the_stylesheet():
    root = declarations(root_block())
    assert parse_colour(root["--bg"]) == PAGE_BACKGROUND
    assert parse_colour(root["--fg"]) == PAGE_TEXT


def test_defaults_pass():
    palette = Palette(DEFAULT_PRIMARY, DEFAULT_ACCENT)
    assert palette.problems() == []
    assert palette.field_problems() == {"primary_colour": [], "accent_colour": []}
    assert parse_font_stack(DEFAULT_FONT) == DEFAULT_FONT
    assert Palette() == palette


@pytest.mark.parametrize(
    ("primary", "accent"),
    [("#146c2e", "#4f2a7a"), ("#000", "#000"), ("#808080", "#0a3d91"), ("#B3261E", "#B3261E")],
)
def test_passing_palettes(primary, accent):
    assert Palette(primary, accent).problems() == []


def test_primary_too_light_for_the_page():
    palette = Palette(primary="#FFCC00")
    assert palette.problems() == [
        "Primary colour #ffcc00 on the page background has a contrast of 1.51:1; "
        "buttons and focus outlines need at least 3:1."
    ]
    assert palette.field_problems()["accent_colour"] == []


def test_no_label_colour_readable_on_primary():
    # Stands out from the page (4.29:1) but neither near-black nor white reaches 4.5:1 on it.
    palette = Palette(primary="#7a7a7a")
    assert palette.field_problems() == {
        "primary_colour": [
            "Label colour #111111 on primary colour #7a7a7a has a contrast of 4.39:1 (the better "
            "of near-black and white); button labels need at least 4.5:1."
        ],
        "accent_colour": [],
    }


def test_accent_too_light_for_links():
    palette = Palette(accent="#ffcc00")
    assert palette.field_problems() == {
        "primary_colour": [],
        "accent_colour": [
            "Accent colour #ffcc00 on the page background has a contrast of 1.51:1; "
            "links need at least 4.5:1."
        ],
    }


def test_no_text_colour_readable_on_accent():
    # On the light page any accent that fails here fails as a link too; a dark page separates them.
    palette = Palette(primary="#ffcc00", accent="#7a7a7a", background="#000", text="#fff")
    assert palette.field_problems() == {
        "primary_colour": [],
        "accent_colour": [
            "Text colour #111111 on accent colour #7a7a7a has a contrast of 4.39:1 (the better "
            "of near-black and white); text on accent-coloured badges needs at least 4.5:1."
        ],
    }


def test_every_problem_at_once_in_field_order():
    palette = Palette(primary="#f0f0f0", accent="#777")
    fields = palette.field_problems()
    assert [len(fields["primary_colour"]), len(fields["accent_colour"])] == [1, 2]
    assert palette.problems() == fields["primary_colour"] + fields["accent_colour"]
    assert "4.47:1" in fields["accent_colour"][0]


def test_palette_rejects_hostile_colours():
    with pytest.raises(ValueError):
        Palette(primary="red;}body{display:none")


def passing_primaries():
    for r in range(16):
        for g in range(16):
            for b in range(16):
                colour = f"#{r:x}{g:x}{b:x}"
                if not Palette(primary=colour).field_problems()["primary_colour"]:
                    yield colour


def test_derived_shades_keep_contrast():
    primaries = list(passing_primaries())
    assert len(primaries) > 1000
    for primary in primaries:
        palette = Palette(primary=primary)
        hover, label = palette.primary_hover, palette.on_primary
        assert contrast_ratio(hover, PAGE_BACKGROUND) >= 3, primary
        assert contrast_ratio(label, hover) >= 4.5, primary
        assert contrast_ratio(palette.primary_ink, PAGE_BACKGROUND) >= 4.5, primary


def test_hover_is_a_visible_change():
    assert Palette().primary_hover != DEFAULT_PRIMARY
    assert Palette(primary="#808080").primary_hover != "#808080"  # dark label: goes lighter


def test_ink_is_primary_when_primary_reads_as_text():
    assert Palette().primary_ink == DEFAULT_PRIMARY
    assert Palette(primary="#808080").primary_ink != "#808080"


# --- Parsers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#fff", "#ffffff"),
        ("#FFF", "#ffffff"),
        ("#0B57D0", "#0b57d0"),
        ("  #abc\n", "#aabbcc"),
        ("\t#123456 ", "#123456"),
    ],
)
def test_parse_colour(value, expected):
    assert parse_colour(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE,
        "red",
        "transparent",
        "rgb(0,0,0)",
        "hsl(0 0% 0%)",
        "var(--x)",
        "",
        " ",
        "#",
        "fff",
        "0b57d0",
        "#ff",
        "#ffff",
        "#fffff",
        "#fffffff",
        "#ggg",
        "#fff;",
        "#fff}",
        "'#fff'",
        '"#fff"',
        "#fff\n;x",
        "#fff !important",
        "#fff #000",
        "\uff03fff",  # fullwidth number sign
        "#\uff46\uff46\uff46",  # fullwidth f
        "#١٢٣",  # Arabic-Indic digits
        None,
        123,
    ],
)
def test_parse_colour_rejects(value):
    with pytest.raises(ValueError, match="not a colour"):
        parse_colour(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_FONT),
        ("", DEFAULT_FONT),
        ("   ", DEFAULT_FONT),
        (DEFAULT_FONT, DEFAULT_FONT),
        ("Inter, sans-serif", "Inter, sans-serif"),
        ("'Segoe UI',Arial", '"Segoe UI", Arial'),
        ("Open   Sans , serif", '"Open Sans", serif'),
        ("Source Sans 3, system-ui", '"Source Sans 3", system-ui'),
        ("-apple-system, BlinkMacSystemFont", "-apple-system, BlinkMacSystemFont"),
        ('"sans-serif"', '"sans-serif"'),  # quoted: a family named so, not the generic one
        ("inherit", '"inherit"'),  # bare, a CSS keyword that would void the declaration
        ("3Dumb, Helvetica", '"3Dumb", Helvetica'),
        ("Noto Sans JP, ヒラギノ角ゴ", '"Noto Sans JP", ヒラギノ角ゴ'),
    ],
)
def test_parse_font_stack(value, expected):
    assert parse_font_stack(value) == expected


def test_font_stack_at_the_length_limit():
    value = "A" * 99 + ", " + "B" * 99
    assert len(value) == 200 and parse_font_stack(value) == value
    with pytest.raises(ValueError, match="at most 200 characters"):
        parse_font_stack(value + "B")


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE,
        "Arial; color: red",
        'x"></style><script>alert(1)</script>',
        "Arial,",
        ",Arial",
        "Arial,,serif",
        '"Arial',
        "Arial'",
        "\"Arial'",
        '"Ari"al"',
        '""',
        "''",
        "Arial/serif",
        "Arial\\",
        "Arial (bold)",
        "Arial.ttf",
        "Arial_Bold",
        "Arial, " * 20,
        "A" * 201,
        ",".join(["Abcdefghij Klmnopqrst"] * 9),  # 197 characters, 223 once quoted and spaced
        123,
    ],
)
def test_parse_font_stack_rejects(value):
    with pytest.raises(ValueError):
        parse_font_stack(value)


# --- CSS ---------------------------------------------------------------------------------

BRAND_NAMES = [
    "--brand-primary",
    "--brand-primary-hover",
    "--brand-primary-ink",
    "--brand-on-primary",
    "--brand-accent",
    "--brand-on-accent",
    "--brand-font",
]


def test_css_variables_for_a_merchant():
    # #ffcc00 is too light for buttons on white (1.51:1): moved towards the text until 3:1.
    text = css_variables(" #FC0 ", "#4F2A7A", "'Open Sans', sans-serif")
    assert isinstance(text, SafeString)
    assert contrast_ratio("#b1900b", PAGE_BACKGROUND) >= 3
    assert text == (
        "--brand-primary:#b1900b;--brand-primary-hover:#967a09;--brand-primary-ink:#8d7410;"
        "--brand-on-primary:#111111;--brand-accent:#4f2a7a;--brand-on-accent:#ffffff;"
        '--brand-font:"Open Sans", sans-serif;'
    )


@pytest.mark.parametrize(
    ("primary", "accent", "font"),
    [
        (DEFAULT_PRIMARY, DEFAULT_ACCENT, DEFAULT_FONT),
        ("#000", "#fff", ""),
        ("#7a7a7a", "#ABCDEF", "Source Sans 3, -apple-system, serif"),
    ],
)
def test_css_variables_hold_only_parsed_values(primary, accent, font):
    text = css_variables(primary, accent, font)
    assert re.fullmatch(r'(--brand-[a-z-]+:[#0-9a-zA-Z ,"-]+;)+', text)
    values = declarations(text)
    assert list(values) == BRAND_NAMES
    for name, value in values.items():
        if name == "--brand-font":
            assert value == parse_font_stack(font)
        else:
            assert value == parse_colour(value)
    shown = Palette(primary, accent).readable()
    assert values["--brand-primary"] == shown.primary
    assert values["--brand-accent"] == shown.accent
    assert contrast_ratio(shown.primary, PAGE_BACKGROUND) >= 3
    assert contrast_ratio(shown.accent, PAGE_BACKGROUND) >= 4.5


@pytest.mark.parametrize("value", HOSTILE)
def test_css_variables_reject_hostile_values(value):
    with pytest.raises(ValueError):
        css_variables(value, DEFAULT_ACCENT, DEFAULT_FONT)
    with pytest.raises(ValueError):
        css_variables(DEFAULT_PRIMARY, value, DEFAULT_FONT)
    with pytest.raises(ValueError):
        css_variables(DEFAULT_PRIMARY, DEFAULT_ACCENT, value)


def test_stylesheet_defaults_are_the_unbranded_values():
    root = declarations(root_block())
    unbranded = declarations(css_variables(DEFAULT_PRIMARY, DEFAULT_ACCENT, DEFAULT_FONT))
    for name, value in unbranded.items():
        if name == "--brand-font":
            assert root[name] == value
        else:
            assert parse_colour(root[name]) == value, name


def test_stylesheet_uses_only_brand_variables_it_declares():
    css = SITE_CSS.read_text()
    used = set(re.findall(r"var\((--brand-[a-z-]+)\)", css))
    assert used == set(BRAND_NAMES)
    assert "var(--accent)" not in css and "var(--accent-fg)" not in css


# --- Themes ------------------------------------------------------------------------------


def dark_block() -> str:
    match = re.search(r':root\[data-theme="dark"\]\s*\{(.*?)\}', SITE_CSS.read_text(), re.S)
    assert match
    return match.group(1)


def test_the_stylesheets_dark_theme_is_the_computed_one():
    dark = declarations(dark_block())
    assert parse_colour(dark["--bg"]) == NIGHT_BACKGROUND
    assert parse_colour(dark["--fg"]) == NIGHT_TEXT
    assert parse_colour(dark["--muted"]) == NIGHT_MUTED
    computed = declarations(dark_variables(DEFAULT_PRIMARY, DEFAULT_ACCENT))
    for name, value in computed.items():
        assert parse_colour(dark[name]) == value, name
    # "auto" with a dark preference is the same block, word for word.
    css = SITE_CSS.read_text()
    auto = re.search(r':root\[data-theme="auto"\]\s*\{(.*?)\}', css, re.S)
    assert auto and declarations(auto.group(1)) == dark


@pytest.mark.parametrize("theme", [LIGHT, NIGHT], ids=["light", "dark"])
def test_the_pages_own_colours_pass(theme):
    assert contrast_ratio(theme.text, theme.background) >= 7
    assert contrast_ratio(theme.muted, theme.background) >= 4.5


def every_colour():
    for r in range(0, 16, 3):
        for g in range(0, 16, 3):
            for b in range(0, 16, 3):
                yield f"#{r:x}{g:x}{b:x}"


@pytest.mark.parametrize("background", ["", "#0d1b2a", "#f6f3ee", "#2b2b2b", "#fffbe6"])
def test_any_brand_colours_pass_on_both_themes(background):
    """A host page may ask for the theme the merchant did not choose: the colours shown there
    are moved until they pass on its real background."""
    for theme in themes_of(background).values():
        for colour in every_colour():
            shown = Palette(colour, colour, theme.background, theme.text).readable()
            assert contrast_ratio(shown.primary, theme.background) >= 3, (theme, colour)
            assert contrast_ratio(shown.accent, theme.background) >= 4.5, (theme, colour)
            assert contrast_ratio(shown.primary_ink, theme.background) >= 4.5, (theme, colour)


def test_a_background_colour_serves_the_theme_it_suits():
    assert theme_for("#0d1b2a").name == "dark" and theme_for("#0d1b2a").background == "#0d1b2a"
    assert theme_for("#F6F3EE").name == "light" and theme_for("#f6f3ee").text == PAGE_TEXT
    assert theme_for("#ffffff") == LIGHT and theme_for(NIGHT_BACKGROUND) == NIGHT
    for colour in ("#0d1b2a", "#f6f3ee", "#3a3a3a", "#d0d0d0"):
        theme = theme_for(colour)
        assert contrast_ratio(theme.muted, theme.background) >= 4.5, colour
    themes = themes_of("#0d1b2a")
    assert themes["dark"].background == "#0d1b2a" and themes["light"] == LIGHT


def test_the_brand_stylesheet_has_a_rule_per_theme():
    css = stylesheet("#7a1f5c", "#7a1f5c", "", "#0d1b2a")
    rules = re.findall(r'(:root(?:\[data-theme="(?:dark|auto)"\])?)\{([^{}]*)\}', css)
    assert [selector for selector, _ in rules] == [
        ":root",
        ':root[data-theme="dark"]',
        ':root[data-theme="auto"]',
    ]
    assert '@media (prefers-color-scheme: dark){:root[data-theme="auto"]' in css
    light, dark, auto = (declarations(body) for _, body in rules)
    assert light["--brand-primary"] == "#7a1f5c" and "--bg" not in light
    assert dark == auto and dark["--bg"] == "#0d1b2a"
    assert contrast_ratio(dark["--brand-accent"], "#0d1b2a") >= 4.5
    assert contrast_ratio(dark["--brand-primary"], "#0d1b2a") >= 3


@pytest.mark.parametrize(
    ("setting", "background", "expected"),
    [
        ("light", "", []),
        ("dark", "#0d1b2a", []),
        ("auto", "#f6f3ee", []),
        ("light", "#0d1b2a", ["is a dark background, for the dark or auto theme"]),
        ("dark", "#f6f3ee", ["is a light background, for the light or auto theme"]),
        ("auto", "#777777", ["has a contrast of 3.83:1; text needs at least 4.5:1"]),
    ],
)
def test_background_problems(setting, background, expected):
    found = background_problems(setting, background)
    assert len(found) == len(expected), found
    for message, part in zip(found, expected, strict=True):
        assert part in message


def test_a_merchants_colours_are_checked_on_the_backgrounds_its_theme_shows(db):
    from tenancy.models import Merchant

    def problems(**fields):
        merchant = Merchant(name="A", slug="a", api_url="https://api.example/v2", **fields)
        merchant.set_api_key("k" * 20)
        try:
            merchant.full_clean()
        except ValidationError as exc:
            return exc.message_dict
        return {}

    # The default blue is fine on white, too dark for buttons and links on the dark theme.
    assert problems(theme="light") == {}
    dark = problems(theme="dark")
    assert "on the page background #16171b has a contrast of 2.80:1" in dark["primary_colour"][0]
    assert "links need at least 4.5:1" in dark["accent_colour"][0]
    assert problems(theme="auto").keys() == {"primary_colour", "accent_colour"}
    assert problems(theme="dark", primary_colour="#8ab4f8", accent_colour="#8ab4f8") == {}
    # Light brand colours on the merchant's own dark background; not on white as well.
    on_navy = {"primary_colour": "#8ab4f8", "accent_colour": "#8ab4f8"}
    assert problems(theme="dark", background_colour="#0D1B2A", **on_navy) == {}
    assert "primary_colour" in problems(theme="auto", background_colour="#0d1b2a", **on_navy)
    assert problems(theme="light", background_colour="#0d1b2a")["background_colour"] == [
        "Background colour #0d1b2a is a dark background, for the dark or auto theme; "
        "this merchant's theme is light."
    ]
    assert "is not a colour" in problems(background_colour="navy")["background_colour"][0]
    assert problems(theme="sepia")["theme"]
