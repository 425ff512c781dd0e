"""The order's questions (the ``form`` state): its form responses as text fields and
multiple choice."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guestmanager import errors

from ..forms import StepForm
from .base import Order, Step, StepContext


class QuestionsForm(StepForm):
    """The order's form responses as questions: text fields and multiple choice."""

    def __init__(self, *args: Any, responses: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: dict[str, tuple[int, int]] = {}
        for response in responses:
            for answer in sorted(
                response.get("answers") or [],
                key=lambda a: (a["field"].get("position") or 0, a["id"]),
            ):
                field = answer["field"]
                if not field.get("enabled", True):
                    continue
                name = f"a{answer['id']}"
                common = {
                    "label": field["label"],
                    "required": bool(field.get("required")),
                    "help_text": field.get("help_text") or "",
                    "initial": answer.get("value") or "",
                }
                if field["type"] == "multiple_choice":
                    options = sorted(
                        field.get("options") or [],
                        key=lambda o: (o.get("position") is None, o.get("position") or 0),
                    )
                    self.fields[name] = forms.ChoiceField(
                        choices=[(str(o["id"]), o["name"]) for o in options],
                        widget=forms.RadioSelect,
                        error_messages={"invalid_choice": _("Choose one of the options.")},
                        **common,
                    )
                else:
                    self.fields[name] = forms.CharField(max_length=1000, **common)
                self.answers[name] = (response["id"], answer["id"])

    def api_data(self) -> list[dict[str, Any]]:
        by_response: dict[int, list[dict[str, Any]]] = {}
        for name, (response_id, answer_id) in self.answers.items():
            by_response.setdefault(response_id, []).append(
                {"id": answer_id, "value": self.cleaned_data.get(name) or None}
            )
        return [{"id": rid, "answers": answers} for rid, answers in by_response.items()]


def place_errors(form: QuestionsForm, exc: errors.ValidationError) -> None:
    for response in (exc.errors.associations.get("form_responses") or {}).values():
        for answer_id, record in (response.associations.get("answers") or {}).items():
            name = f"a{answer_id}"
            for error in record.attributes:
                if name in form.fields:
                    form.add_error(name, error.message.capitalize())
                else:
                    form.add_error(None, error.sentence())
        for error in response.attributes:
            form.add_error(None, error.sentence())
    for error in exc.errors.attributes:
        form.add_error(None, error.sentence())
    if not form.errors:
        form.add_error(None, exc.message or gettext("Please check your answers."))


def build(ctx: StepContext, data: QueryDict | None) -> QuestionsForm:
    return QuestionsForm(data, responses=ctx.order.get("responses") or [])


def submit(ctx: StepContext, form: QuestionsForm) -> Order:
    return ctx.update(STEP.name, responses=form.api_data())


STEP = Step(
    "form",
    _("Questions"),
    _("A few questions"),
    "questions",
    form=build,
    submit=submit,
    api_errors=place_errors,
    countdown=True,
)
