"""Create a merchant for each company of an Enterprise (reseller) account."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from guestmanager import errors
from guestmanager.enterprise import Company, EnterpriseClient
from tenancy.language import ShellLanguageCommand
from tenancy.models import Merchant


def _outcome(outcome: str) -> str:
    """A company's outcome as the command says it."""
    if outcome == "created":
        return pgettext("company import", "created")
    if outcome == "kept":
        return pgettext("company import", "kept")
    return pgettext("company import", "no key")


class Command(ShellLanguageCommand):
    description = gettext_lazy(
        "List the companies of the Enterprise account (GM_ENTERPRISE_URL, "
        "GM_ENTERPRISE_KEY) and create a merchant for each one not yet imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--enterprise-url", default=settings.GM_ENTERPRISE_URL)
        parser.add_argument(
            "--api-url",
            default=settings.GM_API_URL,
            help=_("The public API base the companies' keys are used with."),
        )
        parser.add_argument("--dry-run", action="store_true", help=_("Only say what would change."))

    def handle(
        self, *args: Any, enterprise_url: str, api_url: str, dry_run: bool, **options: Any
    ) -> None:
        if not settings.GM_ENTERPRISE_KEY:
            raise CommandError(_("Set GM_ENTERPRISE_KEY to the Enterprise API key."))
        client = EnterpriseClient(enterprise_url, settings.GM_ENTERPRISE_KEY)
        try:
            companies = list(client.list_companies(include="api_keys"))
        except errors.GuestManagerError as exc:
            raise CommandError(_("The Enterprise API refused: %(error)s") % {"error": exc}) from exc
        counts = {"created": 0, "kept": 0, "no key": 0}
        for company in companies:
            outcome = self._import(company, api_url, dry_run)
            counts[outcome] += 1
            self.stdout.write(f"{_outcome(outcome):>8}  {company.id}  {company.name}")
        found = {"total": len(companies), **{k.replace(" ", "_"): n for k, n in counts.items()}}
        if dry_run:
            summary = _(
                "%(total)s companies: %(created)s created, %(kept)s kept, %(no_key)s no key "
                "(dry run)"
            )
        else:
            summary = _(
                "%(total)s companies: %(created)s created, %(kept)s kept, %(no_key)s no key"
            )
        self.stdout.write(summary % found)

    def _import(self, company: Company, api_url: str, dry_run: bool) -> str:
        if Merchant.objects.filter(company_id=company.id).exists():
            return "kept"  # imported before: what the admin changed since stays
        key = next((k.access_token for k in company.api_keys if k.read and k.write), "")
        if not key:
            return "no key"
        if dry_run:
            return "created"
        with transaction.atomic():
            merchant = Merchant(
                name=company.name[:100] or _("Company %(id)s") % {"id": company.id},
                slug=_free_slug(company),
                company_id=company.id,
                api_url=api_url,
                currency="",  # the currency its API prices tickets in
            )
            merchant.set_api_key(key)
            merchant.save()
        return "created"


def _free_slug(company: Company) -> str:
    base = slugify(company.name)[:40].strip("-") or "company"
    slug = base
    if Merchant.objects.filter(slug=slug).exists():
        slug = f"{base}-{company.id}"[:50]
    return slug
