"""Load Apple Mail Privacy Protection's egress ranges, replacing those loaded before.

Takes Apple's published CSV (https://mask-api.icloud.com/egress-ip-ranges.csv,
the network in the first column) or a file of one network per line.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracking.machine import machine_networks_forget
from tracking.models import MachineNetwork
from tracking.ranges import networks_read


class Command(BaseCommand):
    help = "Load Apple's privacy proxy egress ranges from FILE (Apple's CSV or one per line)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with open(file, encoding="utf-8") as handle:
                networks, skipped = networks_read(handle)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        if not networks:
            raise CommandError(f"No network found in {file}; nothing changed.")
        kind = MachineNetwork.Kind.APPLE_PROXY
        with transaction.atomic():
            MachineNetwork.objects.filter(kind=kind).delete()
            MachineNetwork.objects.bulk_create(
                [MachineNetwork(network=n, kind=kind, name="apple") for n in networks],
                batch_size=5000,
            )
        machine_networks_forget()
        self.stdout.write(f"Loaded {len(networks)} Apple proxy ranges ({skipped} lines skipped).")
