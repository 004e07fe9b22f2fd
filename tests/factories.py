from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from campaigns.models import Campaign, Coupon, CouponCode, Product
from contacts.models import Contact, Group
from marketing_site.roles import role_assign


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if create and extracted:
            role_assign(user, extracted)


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    status = Contact.Status.SUBSCRIBED

    @factory.post_generation
    def groups(contact, create, extracted, **kwargs):
        if create and extracted:
            contact.groups.add(*extracted)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    url = factory.LazyAttribute(lambda p: f"https://shop.example.com/p/{p.sku.lower()}")
    image_url = factory.LazyAttribute(lambda p: f"https://shop.example.com/img/{p.sku.lower()}.jpg")
    price = Decimal("19.90")


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    name = "Ten percent off"
    kind = Coupon.Kind.SHARED
    code = "SAVE10"
    description = "10% off your next order"


class CouponCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponCode

    coupon = factory.SubFactory(CouponFactory, kind=Coupon.Kind.UNIQUE, code="")
    code = factory.Sequence(lambda n: f"UNIQ-{n:05d}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = "Spring sale"
    subject = 'Spring sale, {{ contact.first_name|default:"friend" }}!'
    preheader = "Up to 30% off this week"
    from_name = "Demo Shop"
    from_email = "news@shop.example.com"
    reply_to = "help@shop.example.com"
    body = (
        '<p>Hello {{ contact.first_name|default:"there" }},</p>'
        '<p>Our <a href="https://shop.example.com/sale">spring sale</a> is on.</p>'
    )

    @factory.post_generation
    def groups(campaign, create, extracted, **kwargs):
        if create and extracted:
            campaign.groups.add(*extracted)

    @factory.post_generation
    def products(campaign, create, extracted, **kwargs):
        if create and extracted:
            campaign.products.add(*extracted)
