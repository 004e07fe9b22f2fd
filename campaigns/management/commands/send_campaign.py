from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.personalisation import TemplateProblem
from campaigns.services import CampaignNotSendable, campaign_send


class Command(BaseCommand):
    help = "Send a draft campaign, named by id or by name, through the Celery workers."

    def add_arguments(self, parser):
        parser.add_argument("campaign", help="The campaign's id or exact name.")

    def handle(self, campaign, **options):
        lookup = {"pk": int(campaign)} if campaign.isdigit() else {"name": campaign}
        found = Campaign.objects.filter(**lookup).first()
        if found is None:
            raise CommandError(f"No campaign {campaign!r}.")
        try:
            send = campaign_send(campaign=found)
        except (TemplateProblem, CampaignNotSendable) as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(f"Send {send.pk} of {found.name!r} queued.")
