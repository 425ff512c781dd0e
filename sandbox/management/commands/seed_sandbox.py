from django.core.management.base import BaseCommand

from sandbox.seed import Seeder


class Command(BaseCommand):
    help = "Replace the sandbox's data with the deterministic demo catalog (same ids each time)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, seed: int, **options):
        counts = Seeder(seed=seed).run()
        self.stdout.write(
            f"Sandbox seeded: {counts['companies']} companies, {counts['events']} events, "
            f"{counts['venues']} venues, {counts['registration_types']} registration types."
        )
