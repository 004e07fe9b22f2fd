"""The shop's events API: what customers do in the shop, posted as JSON.

Each event carries the shop's own id; a repeated id is a no-op. A batch is
checked item by item: the valid events are stored (contacts.ShopEvent) and
applied (contacts, orders, carts, product views, the catalogue) in one
transaction, and the invalid ones come back with an error per field. The
new events then go to the automations (campaigns.automations), in the same
transaction, so a scheduled step exists exactly when its event does.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns import automations
from campaigns.models import Product
from contacts.addresses import address_check
from contacts.models import Cart, Contact, Order, OrderLine, ProductView, ShopEvent
from tracking import attribution

MAX_BATCH = 1000
SUBSCRIBED, NOT_SUBSCRIBED = Contact.Status.SUBSCRIBED, Contact.Status.NOT_SUBSCRIBED
T = ShopEvent.Type
_ORDER_TIMES = {
    T.ORDER_PAID: "paid_at",
    T.ORDER_SHIPPED: "shipped_at",
    T.ORDER_DELIVERED: "delivered_at",
    T.ORDER_CANCELLED: "cancelled_at",
}
_ORDER_STATUS = {
    T.ORDER_CREATED: Order.Status.CREATED,
    T.ORDER_PAID: Order.Status.PAID,
    T.ORDER_SHIPPED: Order.Status.SHIPPED,
    T.ORDER_DELIVERED: Order.Status.DELIVERED,
    T.ORDER_CANCELLED: Order.Status.CANCELLED,
}


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)
    new_events: list[ShopEvent] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "errors": self.errors}


@dataclass
class _Event:
    external_id: str
    type: str
    occurred_at: datetime
    customer: dict  # as checked; {} for a catalogue event
    subject_id: str
    payload: dict

    @property
    def email(self) -> str:
        return self.customer.get("email", "")


# --- Checking ----------------------------------------------------------------------


class _Fields:
    """Reads typed values out of an event, collecting an error per field."""

    def __init__(self):
        self.errors: dict[str, str] = {}

    def object(self, parent: dict, key: str, path: str) -> dict:
        value = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(value, dict):
            self.errors[path] = "Must be an object."
            return {}
        return value

    def text(self, data: dict, key: str, path: str, *, required=False, limit=200) -> str:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.errors[path] = "This field is required."
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.errors[path] = "Must be a string."
            return ""
        if len(value) > limit:
            self.errors[path] = f"At most {limit} characters."
            return ""
        return value.strip()

    def money(self, data: dict, key: str, path: str, *, required=False) -> Decimal:
        value = data.get(key)
        if value is None:
            if required:
                self.errors[path] = "This field is required."
            return Decimal(0)
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal(-1)
        if isinstance(value, bool) or not amount.is_finite() or not 0 <= amount < 10**10:
            self.errors[path] = "Must be a number from 0, such as 19.90."
            return Decimal(0)
        return amount.quantize(Decimal("0.01"))

    def count(self, data: dict, key: str, path: str, *, default=0, minimum=0) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < 10**9:
            self.errors[path] = f"Must be a whole number from {minimum}."
            return default
        return value

    def email(self, data: dict, path: str) -> str:
        raw = self.text(data, "email", path, required=True, limit=254)
        if not raw:
            return ""
        verdict = address_check(raw, check_domain_dns=False)
        if verdict.problem:
            self.errors[path] = verdict.problem
            return ""
        return verdict.email

    def currency(self, data: dict, path: str) -> str:
        value = self.text(data, "currency", path, limit=3) or "USD"
        if len(value) != 3 or not value.isalpha():
            self.errors[path] = "Must be a three-letter code such as EUR."
        return value.upper()

    def items(self, data: dict, key: str, path: str) -> list[dict]:
        value = data.get(key, [])
        if not isinstance(value, list) or len(value) > 500:
            self.errors[path] = "Must be a list of at most 500 items."
            return []
        out = []
        for n, item in enumerate(value):
            where = f"{path}[{n}]"
            if not isinstance(item, dict):
                self.errors[where] = "Must be an object."
                continue
            out.append(
                {
                    "sku": self.text(item, "sku", f"{where}.sku", required=True, limit=64),
                    "name": self.text(item, "name", f"{where}.name"),
                    "category": self.text(item, "category", f"{where}.category", limit=100),
                    "quantity": self.count(
                        item, "quantity", f"{where}.quantity", default=1, minimum=1
                    ),
                    "unit_price": str(self.money(item, "unit_price", f"{where}.unit_price")),
                    "image_url": self.text(item, "image_url", f"{where}.image_url", limit=500),
                    "url": self.text(item, "url", f"{where}.url", limit=500),
                }
            )
        return out


def _customer(f: _Fields, data: dict, path: str) -> dict:
    customer = f.object(data, "customer", path)
    attributes = customer.get("attributes", {})
    if not isinstance(attributes, dict):
        f.errors[f"{path}.attributes"] = "Must be an object."
        attributes = {}
    accepts = customer.get("accepts_marketing", False)
    if not isinstance(accepts, bool):
        f.errors[f"{path}.accepts_marketing"] = "Must be true or false."
    return {
        "id": f.text(customer, "id", f"{path}.id", limit=100),
        "email": f.email(customer, f"{path}.email"),
        "first_name": f.text(customer, "first_name", f"{path}.first_name", limit=100),
        "last_name": f.text(customer, "last_name", f"{path}.last_name", limit=100),
        "nickname": f.text(customer, "nickname", f"{path}.nickname", limit=100),
        "locale": f.text(customer, "locale", f"{path}.locale", limit=10),
        "time_zone": f.text(customer, "time_zone", f"{path}.time_zone", limit=64),
        "attributes": attributes,
        "accepts_marketing": accepts is True,
    }


def _payload(f: _Fields, kind: str, data: dict) -> tuple[dict, str, str]:
    """The event's data in the stored shape, its customer and the id of what
    it is about (order, cart, SKU)."""
    if kind in (T.CUSTOMER_REGISTERED, T.CUSTOMER_UPDATED):
        customer = _customer(f, data, "data.customer")
        return {"customer": customer}, customer, customer["id"]
    if kind in _ORDER_STATUS:
        order = f.object(data, "order", "data.order")
        out = {
            "id": f.text(order, "id", "data.order.id", required=True, limit=100),
            "customer": _customer(f, order, "data.order.customer"),
            "status": _ORDER_STATUS[kind],
            "total": str(f.money(order, "total", "data.order.total", required=True)),
            "currency": f.currency(order, "data.order.currency"),
            "lines": f.items(order, "lines", "data.order.lines"),
            "delivery_address": order.get("delivery_address") or {},
            "payment_url": f.text(order, "payment_url", "data.order.payment_url", limit=500),
            "click_token": f.text(order, "click_token", "data.order.click_token", limit=100),
        }
        if not isinstance(out["delivery_address"], dict):
            f.errors["data.order.delivery_address"] = "Must be an object."
        return {"order": out}, out["customer"], out["id"]
    if kind == T.CART_UPDATED:
        cart = f.object(data, "cart", "data.cart")
        out = {
            "id": f.text(cart, "id", "data.cart.id", required=True, limit=100),
            "customer": _customer(f, cart, "data.cart.customer"),
            "items": f.items(cart, "items", "data.cart.items"),
            "total": str(f.money(cart, "total", "data.cart.total")),
            "currency": f.currency(cart, "data.cart.currency"),
            "checkout_url": f.text(cart, "checkout_url", "data.cart.checkout_url", limit=500),
        }
        return {"cart": out}, out["customer"], out["id"]
    product = f.object(data, "product", "data.product")
    out = {
        "sku": f.text(product, "sku", "data.product.sku", required=True, limit=64),
        "name": f.text(product, "name", "data.product.name", required=kind == T.PRODUCT_UPSERTED),
        "category": f.text(product, "category", "data.product.category", limit=100),
        "url": f.text(
            product, "url", "data.product.url", limit=500, required=kind == T.PRODUCT_UPSERTED
        ),
        "image_url": f.text(product, "image_url", "data.product.image_url", limit=500),
        "price": str(f.money(product, "price", "data.product.price")),
        "currency": f.currency(product, "data.product.currency"),
        "stock": product.get("stock"),
    }
    if out["stock"] is not None:
        out["stock"] = f.count(product, "stock", "data.product.stock")
    if kind == T.PRODUCT_UPSERTED:
        return {"product": out}, {}, out["sku"]
    customer = _customer(f, data, "data.customer")
    seconds = f.count(data, "seconds", "data.seconds")
    return {"product": out, "seconds": seconds, "customer": customer}, customer, out["sku"]


def event_check(item) -> _Event | dict[str, str]:
    """An event ready to store, or its errors by field."""
    f = _Fields()
    if not isinstance(item, dict):
        return {"": "Each event must be an object."}
    external_id = f.text(item, "id", "id", required=True, limit=100)
    kind = item.get("type")
    if kind not in T.values:
        f.errors["type"] = f"Must be one of: {', '.join(T.values)}."
        return f.errors
    occurred_at = timezone.now()
    if item.get("occurred_at") is not None:
        parsed = parse_datetime(str(item["occurred_at"]))
        if parsed is None:
            f.errors["occurred_at"] = "Must be a date and time such as 2026-11-24T09:30:00Z."
        else:
            occurred_at = parsed if parsed.tzinfo else timezone.make_aware(parsed, timezone.utc)
    data = f.object(item, "data", "data")
    payload, customer, subject_id = _payload(f, kind, data) if data else ({}, {}, "")
    if f.errors:
        return f.errors
    return _Event(external_id, kind, occurred_at, customer, subject_id, payload)


# --- Storing and applying ----------------------------------------------------------


def events_ingest(items: list) -> IngestResult:
    result = IngestResult()
    checked: list[_Event] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        event = event_check(item)
        if isinstance(event, dict):
            item_id = item.get("id") if isinstance(item, dict) else None
            result.errors.append({"index": index, "id": item_id, "fields": event})
        elif event.external_id in seen:
            result.duplicates += 1
        else:
            seen.add(event.external_id)
            checked.append(event)
    if checked:
        with transaction.atomic():
            result.new_events = _store(checked)
            result.duplicates += len(checked) - len(result.new_events)
            result.accepted = len(result.new_events)
            if result.new_events:
                attribution.orders_attribute(result.new_events)
                automations.on_shop_events(result.new_events)
    return result


def _store(events: list[_Event]) -> list[ShopEvent]:
    known = set(
        ShopEvent.objects.filter(external_id__in=[e.external_id for e in events]).values_list(
            "external_id", flat=True
        )
    )
    fresh = [e for e in events if e.external_id not in known]
    if not fresh:
        return []
    contacts = _contacts_for(fresh)
    rows = [
        ShopEvent(
            external_id=e.external_id,
            type=e.type,
            contact=contacts.get(e.email),
            subject_id=e.subject_id,
            payload=e.payload,
            occurred_at=e.occurred_at,
        )
        for e in fresh
    ]
    try:
        with transaction.atomic():
            ShopEvent.objects.bulk_create(rows)
    except IntegrityError:  # another request stored some of these meanwhile
        rows = _store_one_by_one(rows)
    for event in sorted(rows, key=lambda row: row.occurred_at):
        _apply(event)
    _contacts_order_facts({row.contact_id for row in rows if row.contact_id})
    return rows


def _store_one_by_one(rows: list[ShopEvent]) -> list[ShopEvent]:
    stored = []
    for row in rows:
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            stored.append(row)
        except IntegrityError:
            continue
    return stored


def _contacts_for(events: list[_Event]) -> dict[str, Contact]:
    """The contacts of these events by address, made for new customers: a
    customer who accepted marketing is subscribed, anyone else gets order and
    account mail only. An existing contact's consent is never widened here,
    except by a customer event that says they accepted marketing."""
    emails = {e.email for e in events if e.email}
    contacts = {c.email: c for c in Contact.objects.filter(email__in=emails)}
    now = timezone.now()
    for event in events:
        customer = event.customer
        if not event.email:
            continue
        contact = contacts.get(event.email)
        accepts = bool(customer.get("accepts_marketing"))
        if contact is None:
            contact, _ = Contact.objects.get_or_create(
                email=event.email,
                defaults={
                    "first_name": customer.get("first_name", "")[:100],
                    "last_name": customer.get("last_name", "")[:100],
                    "status": SUBSCRIBED if accepts else NOT_SUBSCRIBED,
                    "consent_at": now if accepts else None,
                    "consent_source": "Shop (events API)" if accepts else "",
                },
            )
            contacts[event.email] = contact
        if event.type in (T.CUSTOMER_REGISTERED, T.CUSTOMER_UPDATED):
            _customer_update(contact, customer, accepts, now)
    return contacts


def _customer_update(contact: Contact, customer: dict, accepts: bool, now) -> None:
    changed = []
    for name in ("first_name", "last_name", "locale", "time_zone"):
        if customer.get(name) and getattr(contact, name) != customer[name]:
            setattr(contact, name, customer[name])
            changed.append(name)
    extra = {k: v for k, v in customer.get("attributes", {}).items() if isinstance(k, str)}
    if customer.get("nickname"):
        extra["nickname"] = customer["nickname"]
    if extra and any(contact.attributes.get(k) != v for k, v in extra.items()):
        contact.attributes = {**contact.attributes, **extra}
        changed.append("attributes")
    if accepts and contact.status == Contact.Status.NOT_SUBSCRIBED:
        contact.status, contact.consent_at = Contact.Status.SUBSCRIBED, now
        contact.consent_source = "Shop (events API)"
        changed += ["status", "consent_at", "consent_source"]
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])


def _apply(event: ShopEvent) -> None:
    if event.type in _ORDER_STATUS:
        _order_apply(event)
    elif event.type == T.CART_UPDATED:
        cart = event.payload["cart"]
        Cart.objects.update_or_create(
            external_id=cart["id"],
            defaults={
                "contact": event.contact,
                "items": cart["items"],
                "total": Decimal(cart["total"]),
                "currency": cart["currency"],
                "updated_at": event.occurred_at,
            },
        )
    elif event.type == T.PRODUCT_VIEWED and event.contact_id:
        product = event.payload["product"]
        ProductView.objects.create(
            contact=event.contact,
            sku=product["sku"],
            category=product["category"],
            seconds=event.payload["seconds"],
            viewed_at=event.occurred_at,
        )
    elif event.type == T.PRODUCT_UPSERTED:
        _product_apply(event.payload["product"])


def _order_apply(event: ShopEvent) -> None:
    data = event.payload["order"]
    order, created = Order.objects.get_or_create(
        external_id=data["id"],
        defaults={
            "contact": event.contact,
            "total": Decimal(data["total"]),
            "currency": data["currency"],
            "delivery_address": data["delivery_address"],
            "placed_at": event.occurred_at,
        },
    )
    fields = ["status"]
    order.status = data["status"]
    if moment := _ORDER_TIMES.get(event.type):
        setattr(order, moment, event.occurred_at)
        fields.append(moment)
    if not created and data["delivery_address"]:
        order.delivery_address = data["delivery_address"]
        fields.append("delivery_address")
    order.save(update_fields=fields)
    if data["lines"] and (created or not order.lines.exists()):
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                sku=line["sku"],
                name=line["name"],
                category=line["category"],
                quantity=line["quantity"],
                unit_price=Decimal(line["unit_price"]),
            )
            for line in data["lines"]
        )
    if event.type == T.ORDER_CREATED and event.contact_id:
        Cart.objects.filter(contact_id=event.contact_id, ordered_at__isnull=True).update(
            ordered_at=event.occurred_at
        )


def _product_apply(data: dict) -> None:
    defaults = {"name": data["name"], "url": data["url"], "price": Decimal(data["price"]),
                "currency": data["currency"], "category": data["category"],
                "image_url": data["image_url"]}  # fmt: skip
    if data.get("stock") is not None:
        defaults["stock"] = data["stock"]
    Product.objects.update_or_create(sku=data["sku"], defaults=defaults)


def _contacts_order_facts(contact_ids: set[int]) -> None:
    """Keep the contacts' order count, total spent and last order (segments read them)."""
    if contact_ids:
        money = DecimalField(max_digits=12, decimal_places=2)
        Contact.objects.filter(pk__in=contact_ids).update(
            order_count=Coalesce(_per_contact(Count("pk")), Value(0)),
            total_spent=Coalesce(_per_contact(Sum("total")), Value(Decimal(0)), output_field=money),
            last_order_at=_per_contact(Max("placed_at")),
        )


def _per_contact(aggregate) -> Subquery:
    orders = (
        Order.objects.filter(contact=OuterRef("pk"))
        .exclude(status=Order.Status.CANCELLED)
        .order_by()
    )
    return Subquery(orders.values("contact").annotate(value=aggregate).values("value")[:1])
