from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitingRoomConfig(AppConfig):
    """The waiting room: buyers past what the upstream budget carries wait their turn to
    start an order, in order of arrival (``waitingroom.door``)."""

    name = "waitingroom"
    verbose_name = _("Waiting room")

    def ready(self) -> None:
        from infra import budget

        from . import door

        if door.count_checkout_call not in budget.checkout_call_listeners:
            budget.checkout_call_listeners.append(door.count_checkout_call)
