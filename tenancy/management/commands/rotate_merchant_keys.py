"""Re-encrypt every merchant's stored API key with the newest MERCHANT_ENCRYPTION_KEYS key.

Safe order with servers running: give every server the new list (new key first, old kept),
restart them, then run this; drop the old key afterwards."""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tenancy import crypto
from tenancy.language import ShellLanguageCommand
from tenancy.models import Merchant


class Command(ShellLanguageCommand):
    description = gettext_lazy(
        "Re-encrypt merchants' API keys with the first key in MERCHANT_ENCRYPTION_KEYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--new-key",
            action="store_true",
            help=_("Print a fresh key to put in front, and stop."),
        )

    def handle(self, *args: Any, new_key: bool, **options: Any) -> None:
        if new_key:
            self.stdout.write(crypto.new_key())
            return
        done = 0
        with transaction.atomic():
            for merchant in Merchant.objects.select_for_update().exclude(api_key_encrypted=""):
                try:
                    merchant.api_key_encrypted = crypto.rotate(merchant.api_key_encrypted)
                except crypto.InvalidToken as exc:
                    raise CommandError(
                        _("No configured key opens %(slug)s's API key: nothing was changed.")
                        % {"slug": merchant.slug}
                    ) from exc
                merchant.save(update_fields=["api_key_encrypted"])
                done += 1
        self.stdout.write(
            ngettext(
                "Re-encrypted %(count)s merchant API key(s) with the newest key.",
                "Re-encrypted %(count)s merchant API key(s) with the newest key.",
                done,
            )
            % {"count": done}
        )
        self.stdout.write(
            _(
                "Every running server must already list that key in MERCHANT_ENCRYPTION_KEYS "
                "(give them the new list and restart them before running this): a server "
                "without it shows these merchants as unavailable and /healthz fails, naming "
                "them. Drop the old key from the list only once every server has the new one."
            )
        )
