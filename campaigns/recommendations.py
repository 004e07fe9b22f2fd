"""Which products a mail recommends.

By rule for everyone (picked by hand, newest, one category, bestsellers),
or per recipient: from the categories they bought from or looked at, never
a product they already bought and never one out of stock. Per-recipient
picks keep "compile once": the mail is compiled with numbered product slots
(`products.0.name`, ...), the in-stock candidates are frozen into the send,
and for each recipient `picks_values` fills the slots from their history.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.apps import apps
from django.db.models import Q, QuerySet

from campaigns.models import Product

# The per-recipient rule chooses among this many of the best-selling products.
PERSONAL_CANDIDATES = 60


def products_available() -> QuerySet:
    return Product.objects.filter(active=True).filter(Q(stock__isnull=True) | Q(stock__gt=0))


def products_by_rule(
    *, rule: str, product_ids: list[int] = (), category: str = "", count: int = 3
) -> list[Product]:
    """The products a block shows to everyone, in order."""
    available = products_available()
    if rule == "manual":
        by_id = {p.pk: p for p in available.filter(pk__in=product_ids)}
        return [by_id[pk] for pk in product_ids if pk in by_id][:count]
    if rule == "newest":
        return list(available.order_by("-added_at", "-pk")[:count])
    if rule == "category":
        return list(available.filter(category=category).order_by("-sales_count", "name")[:count])
    return list(available.order_by("-sales_count", "name")[:count])  # bestsellers


def product_categories() -> list[str]:
    return list(
        Product.objects.filter(active=True)
        .exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


# --- Per recipient -----------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What we know of one recipient's taste."""

    purchased: frozenset[str] = frozenset()  # SKUs
    categories: tuple[str, ...] = ()  # most interesting first

    @property
    def key(self) -> tuple:
        return (self.purchased, self.categories)


def _strings(value) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


ShopHistory = tuple[set[str], list[str]]  # purchased SKUs, categories (viewed first)


def contact_history(contact, shop: dict[int, ShopHistory] | None = None) -> History:
    """A contact's purchases and viewed categories: from the shop's orders and
    product views once those models exist (contacts.Order, contacts.ProductView),
    and from the attributes the shop may set (`purchased_skus`, `viewed_categories`).
    `shop`: the shop histories of a whole batch, loaded at once (shop_histories)."""
    attributes = contact.attributes or {}
    purchased = set(_strings(attributes.get("purchased_skus")))
    categories = _strings(attributes.get("viewed_categories"))
    if contact.pk and _shop_models():
        if shop is not None and contact.pk in shop:
            shop_purchased, shop_categories = shop[contact.pk]
        else:
            shop_purchased, shop_categories = _shop_history(contact.pk)
        purchased |= shop_purchased
        categories = shop_categories + categories
    return History(frozenset(purchased), tuple(dict.fromkeys(categories)))


def _shop_models():
    try:
        return apps.get_model("contacts", "OrderLine"), apps.get_model("contacts", "ProductView")
    except LookupError:
        return None


def _shop_history(contact_id: int) -> tuple[set[str], list[str]]:
    order_line, product_view = _shop_models()
    lines = order_line.objects.filter(order__contact_id=contact_id)
    purchased = set(lines.values_list("sku", flat=True))
    bought_in = list(lines.exclude(category="").values_list("category", flat=True)[:50])
    viewed = list(
        product_view.objects.filter(contact_id=contact_id)
        .exclude(category="")
        .order_by("-pk")
        .values_list("category", flat=True)[:50]
    )
    return purchased, viewed + bought_in


def shop_histories(contact_ids: list[int]) -> dict[int, ShopHistory]:
    """The shop histories of a batch of recipients in two queries, instead of
    three per recipient: the same purchases and the same 50 latest viewed and
    bought categories as _shop_history."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    histories: dict[int, ShopHistory] = {pk: (set(), []) for pk in contact_ids}
    if not contact_ids or not _shop_models():
        return histories
    order_line, product_view = _shop_models()
    bought: dict[int, list[str]] = {}
    lines = order_line.objects.filter(order__contact_id__in=contact_ids).order_by("pk")
    for contact_id, sku, category in lines.values_list("order__contact_id", "sku", "category"):
        histories[contact_id][0].add(sku)
        if category:
            bought.setdefault(contact_id, []).append(category)
    latest = Window(RowNumber(), partition_by=[F("contact_id")], order_by=F("pk").desc())
    views = (
        product_view.objects.filter(contact_id__in=contact_ids)
        .exclude(category="")
        .annotate(row=latest)
        .filter(row__lte=50)
        .order_by("contact_id", "-pk")
        .values_list("contact_id", "category")
    )
    for contact_id, category in views:
        histories[contact_id][1].append(category)
    for contact_id, categories in bought.items():
        histories[contact_id][1].extend(categories[:50])
    return histories


def candidates_freeze(*, links: list[str], link_index) -> list[dict]:
    """The in-stock products a per-recipient block may show, best-selling first,
    as plain data stored with the send; each one's URL is a recorded link."""
    from campaigns.blocks import format_price

    return [
        {
            "sku": product.sku,
            "category": product.category,
            "name": product.name,
            "price": format_price(product.price, product.currency),
            "image": product.image_url,
            "link": str(link_index(product.url, links)),
        }
        for product in products_available().order_by("-sales_count", "name")[:PERSONAL_CANDIDATES]
    ]


@dataclass
class Picker:
    """Fills a send's product slots for each recipient."""

    slots: int
    candidates: list[dict]

    def __post_init__(self):
        # Many recipients share a history (or have none): pick once per history.
        self._cache = lru_cache(maxsize=4096)(self._picks)

    def _picks(self, key: tuple) -> dict[str, str]:
        purchased, categories = key
        fresh = [i for i, c in enumerate(self.candidates) if c["sku"] not in purchased]
        rank = {category: n for n, category in enumerate(categories)}
        liked = sorted(
            (i for i in fresh if self.candidates[i]["category"] in rank),
            key=lambda i: rank[self.candidates[i]["category"]],
        )
        chosen = (liked + [i for i in fresh if i not in set(liked)])[: self.slots]
        values: dict[str, str] = {}
        for slot, index in enumerate(chosen):
            candidate = self.candidates[index]
            for name in ("name", "price", "image", "link"):
                values[f"products.{slot}.{name}"] = candidate[name]
        return values

    def values(self, history: History) -> dict[str, str]:
        return self._cache(history.key)


def picker_for(picks: dict) -> Picker | None:
    if not picks or not picks.get("slots"):
        return None
    return Picker(slots=picks["slots"], candidates=picks["candidates"])


def picks_values(
    picker: Picker | None, contact, shop: dict[int, ShopHistory] | None = None
) -> dict[str, str]:
    """The product slots' values for one recipient (empty without a per-recipient block)."""
    if picker is None or contact is None:
        return {}
    return picker.values(contact_history(contact, shop))
