"""What the checkout's forms share: an error summary that names each field in context,
one-pass selects for long lists, and the placing of the API's validation errors.

Every form is built from what the API returned, and every choice it accepts is one it
offered, so nothing a buyer posts reaches the API unless it names a record the API gave us.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from guestmanager import errors

MAX_TEXT = 200


class FastSelect(forms.Select):
    """A select rendered in one pass: country and state lists are long, and Django renders a
    template per option."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        options = []
        choices: Iterable[tuple[Any, Any]] = self.choices
        for option_value, label in choices:
            option_value = str(option_value)
            selected = " selected" if option_value in chosen else ""
            options.append(
                f'<option value="{escape(option_value)}"{selected}>{escape(str(label))}</option>'
            )
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(options)))  # noqa: S308


class NotHtmlRequiredSelect(FastSelect):
    def use_required_attribute(self, initial: Any) -> bool:
        return False


@dataclass(frozen=True)
class SummaryError:
    """One line of a form's error summary: where to jump to and what to say."""

    anchor: str
    text: str


class StepForm(forms.Form):
    """A form whose errors can be listed in a summary that names each field in context."""

    def summary_label(self, name: str) -> str:
        return str(self.fields[name].label or "")

    def error_summary(self) -> list[SummaryError]:
        found = [SummaryError("", str(e)) for e in self.non_field_errors()]
        for name, field_errors in self.errors.items():
            if name == NON_FIELD_ERRORS or name not in self.fields:
                continue
            if isinstance(self.fields[name].widget, forms.HiddenInput):
                found += [SummaryError("", str(e)) for e in field_errors]
                continue
            label = self.summary_label(name)
            text = " ".join(str(e) for e in field_errors)
            if label:  # "Email: …", but "How did you hear about us? …"
                text = (
                    f"{label} {text}"
                    if label.endswith(("?", ":", ".", "!"))
                    else f"{label}: {text}"
                )
            found.append(SummaryError(self._anchor(name), text))
        return found

    def _anchor(self, name: str) -> str:
        """Where the summary's link goes: the field, or a choice group's first option."""
        field = self[name]
        if isinstance(field.field.widget, forms.RadioSelect):
            return f"{field.auto_id}_0"
        return field.auto_id


def fields_by_attribute(form: StepForm, exc: errors.ValidationError) -> None:
    """Attribute errors onto the field of the same name, the rest onto the form."""
    for error in exc.errors.attributes:
        if error.attribute in form.fields:
            form.add_error(error.attribute, error.sentence())
        else:
            form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check the details and try again."))


def choose_between(name: str, allowed: list[int]) -> str:
    low, high = allowed[0], allowed[-1]
    if low == high:
        return gettext("%(name)s: you can choose %(n)s.") % {"name": name, "n": low}
    return gettext("%(name)s: choose between %(low)s and %(high)s.") % {
        "name": name,
        "low": low,
        "high": high,
    }
