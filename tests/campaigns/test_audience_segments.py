"""A campaign's audience from groups and segments, minus excluded groups and
segments: the summary, the preview list and the send agree, in one SQL
statement."""

from decimal import Decimal

import pytest
from django.core import mail as django_mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.audience import audience_summary
from campaigns.models import Message
from campaigns.selectors import campaign_audience
from campaigns.services import campaign_send
from contacts.models import Contact, Segment
from tests.factories import CampaignFactory, ContactFactory, GroupFactory

pytestmark = pytest.mark.django_db


def _segment(name: str, *rules: dict, match: str = "all") -> Segment:
    return Segment.objects.create(name=name, rules={"match": match, "rules": list(rules)})


@pytest.fixture
def audience():
    newsletter = GroupFactory(name="Newsletter")
    staff = GroupFactory(name="Staff")
    ContactFactory(email="ann@example.com", groups=[newsletter])
    ContactFactory(email="ben@example.com", groups=[newsletter, staff])
    ContactFactory(email="cy@example.com", order_count=3, total_spent=Decimal("300"))
    ContactFactory(email="dee@example.com", order_count=1, groups=[newsletter])
    ContactFactory(email="eve@example.com", order_count=5, status=Contact.Status.UNSUBSCRIBED)
    ContactFactory(email="fay@example.com", order_count=2, attributes={"reseller": True})
    buyers = _segment("Buyers", {"field": "order_count", "op": "gte", "value": 1})
    resellers = _segment("Resellers", {"field": "attribute", "key": "reseller", "op": "set"})
    return {"newsletter": newsletter, "staff": staff, "buyers": buyers, "resellers": resellers}


def _recipients(campaign) -> set[str]:
    return {c.email.split("@")[0] for c in campaign_audience(campaign=campaign)}


def test_groups_and_segments_add_up_and_exclusions_take_away(
    audience, django_capture_on_commit_callbacks
):
    # given: Newsletter (ann, ben, dee) + Buyers (cy, dee, eve, fay) - Staff (ben) - Resellers (fay)
    campaign = CampaignFactory(groups=[audience["newsletter"]])
    campaign.segments.add(audience["buyers"])
    campaign.excluded_groups.add(audience["staff"])
    campaign.excluded_segments.add(audience["resellers"])

    # then each contact counts once; eve is in the audience but unsubscribed
    assert _recipients(campaign) == {"ann", "cy", "dee", "eve"}
    summary = audience_summary(campaign=campaign)
    assert (summary.total, summary.recipients) == (4, 3)
    assert [(reason, n) for reason, _, n in summary.skipped] == [("unsubscribed", 1)]

    # and the send does what the summary said
    with django_capture_on_commit_callbacks(execute=True):
        campaign_send(campaign=campaign)
    sent = {m.to[0].split("@")[0] for m in django_mail.outbox}
    assert sent == {"ann", "cy", "dee"}
    skipped = Message.objects.filter(status=Message.Status.SKIPPED)
    assert list(skipped.values_list("email", "skip_reason")) == [
        ("eve@example.com", "unsubscribed")
    ]


def test_a_segment_alone_is_an_audience(audience):
    campaign = CampaignFactory()
    campaign.segments.add(audience["resellers"])
    assert _recipients(campaign) == {"fay"}
    assert audience_summary(campaign=campaign).recipients == 1


def test_the_summary_is_one_statement_however_many_segments(audience):
    campaign = CampaignFactory(groups=[audience["newsletter"]])
    campaign.segments.add(audience["buyers"], audience["resellers"])
    campaign.excluded_segments.add(_segment("Big spenders",
        {"field": "total_spent", "op": "gt", "value": "100"}))  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        summary = audience_summary(campaign=campaign)
    # (a cheap probe whether anyone chose a lower mail frequency aside)
    selects_of_contacts = [
        q for q in queries if "contacts_contact" in q["sql"] and "LIMIT 1" not in q["sql"]
    ]
    assert len(selects_of_contacts) == 1
    assert summary.total == 5  # ann, ben, dee, eve, fay; cy spent 300


def test_no_group_and_no_segment_reaches_nobody(audience):
    campaign = CampaignFactory()
    campaign.excluded_groups.add(audience["staff"])
    assert audience_summary(campaign=campaign).total == 0
    assert _recipients(campaign) == set()


def test_the_campaign_form_saves_segments_and_exclusions(client, bob, audience):
    client.force_login(bob)
    response = client.post(
        reverse("campaigns:create"),
        {
            "name": "Win-back",
            "kind": "marketing",
            "subject": "We miss you",
            "from_name": "Demo Shop",
            "from_email": "news@shop.example.com",
            "body": "<p>Come back</p>",
            "postal_address": "1 Main St",
            "segments": [audience["buyers"].pk],
            "excluded_groups": [audience["staff"].pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    page = client.get(response["Location"]).content.decode()
    assert "Segment <a" in page and "Buyers" in page
    assert "Leaving out:" in page and "Staff" in page
    assert "Send to 3 of 4 contacts" in page
