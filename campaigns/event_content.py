"""What an automation's mail shows of the event that started it: the order's
lines and delivery address, the cart's items, the product viewed.

The event's data is stored with the pending step (PendingStep.context) and
filled in per recipient like any merge field. The lists are Fragments: HTML
built here, every datum escaped, with a plain-text twin for the text part.
"""

import html
from decimal import Decimal, InvalidOperation

from campaigns.blocks import format_price
from campaigns.personalisation import Fragment

# Merge fields of the event, with what the composer's picker calls them.
EVENT_FIELDS = {
    "order.number": "Order number",
    "order.total": "Order total",
    "order.lines": "Order lines (table)",
    "order.delivery_address": "Delivery address",
    "order.payment_url": "Order payment link",
    "cart.items": "Cart items (table)",
    "cart.total": "Cart total",
    "cart.checkout_url": "Cart checkout link",
    "product.name": "Viewed product: name",
    "product.price": "Viewed product: price",
    "product.url": "Viewed product: link",
    "product.card": "Viewed product (card)",
}
PREFIXES = ("order.", "cart.", "product.")
_CELL = "padding:6px 4px;border-bottom:1px solid #e5e7eb;vertical-align:top"
_RIGHT = "text-align:right;white-space:nowrap"
_TABLE = 'style="width:100%;border-collapse:collapse;font-size:14px"'


def uses_event_fields(segment_lists) -> bool:
    """Does compiled content show anything of an event?"""
    return any(
        not isinstance(segment, str) and segment[0] == "f" and segment[1].startswith(PREFIXES)
        for segments in segment_lists
        for segment in segments
    )


def _url(value) -> str:
    """Only a web address goes into an href; the shop's data is not trusted."""
    value = str(value or "").strip()
    return value if value.lower().startswith(("https://", "http://")) else ""


def _money(amount, currency: str) -> str:
    try:
        return format_price(Decimal(str(amount)), currency or "USD")
    except (InvalidOperation, ValueError):
        return ""


def _lines_table(lines: list[dict], currency: str, total=None) -> Fragment:
    rows, text = [], []
    for line in lines:
        quantity = int(line.get("quantity") or 1)
        price = _money(Decimal(str(line.get("unit_price") or 0)) * quantity, currency)
        name = line.get("name") or line.get("sku") or ""
        image = line.get("image_url") or ""
        picture = (
            f'<img src="{html.escape(image, quote=True)}" alt="" width="48" height="48" '
            'style="display:block;border-radius:4px;object-fit:cover">'
            if image.startswith(("https://", "http://"))
            else ""
        )
        rows.append(
            f'<tr><td style="{_CELL};width:52px">{picture}</td>'
            f'<td style="{_CELL}">{html.escape(name)}</td>'
            f'<td style="{_CELL};{_RIGHT}">{quantity} &times;</td>'
            f'<td style="{_CELL};{_RIGHT}">{html.escape(price)}</td></tr>'
        )
        text.append(f"{quantity} x {name}  {price}")
    if total is not None:
        shown = _money(total, currency)
        rows.append(
            f'<tr><td></td><td style="padding:8px 4px;font-weight:700">Total</td><td></td>'
            f'<td style="padding:8px 4px;text-align:right;font-weight:700">{html.escape(shown)}'
            "</td></tr>"
        )
        text.append(f"Total  {shown}")
    return Fragment("\n".join(text), f"<table {_TABLE}>{''.join(rows)}</table>")


def _address(address: dict) -> Fragment:
    keys = ("name", "line1", "line2", "postal_code", "city", "region", "country")
    parts = [str(address[k]).strip() for k in keys if address.get(k)]
    if not parts:  # an address in the shop's own shape: its values in order
        parts = [str(v).strip() for v in address.values() if isinstance(v, str | int) and v]
    return Fragment(", ".join(parts), "<br>".join(html.escape(p) for p in parts))


def _product_card(product: dict) -> Fragment:
    name, url = product.get("name") or product.get("sku") or "", product.get("url") or ""
    price = _money(product.get("price") or 0, product.get("currency", ""))
    image = product.get("image_url") or ""
    safe_url = html.escape(url, quote=True) if url.startswith(("https://", "http://")) else ""
    picture = (
        f'<img src="{html.escape(image, quote=True)}" alt="{html.escape(name)}" width="240" '
        'style="display:block;margin:0 auto 8px;max-width:100%;border-radius:6px">'
        if image.startswith(("https://", "http://"))
        else ""
    )
    link = f'<a href="{safe_url}">{html.escape(name)}</a>' if safe_url else html.escape(name)
    body = (
        f'<div style="text-align:center">{picture}<div style="font-weight:700;font-size:16px">'
        f'{link}</div><div style="margin-top:2px">{html.escape(price)}</div></div>'
    )
    return Fragment(f"{name}  {price}\n{url}".strip(), body)


def event_values(context: dict) -> dict[str, str]:
    """The event's merge values for one mail, from its pending step's context."""
    values: dict[str, str] = {}
    if order := context.get("order"):
        currency = order.get("currency", "")
        values["order.number"] = str(order.get("id", ""))
        values["order.total"] = _money(order.get("total", 0), currency)
        values["order.lines"] = _lines_table(order.get("lines") or [], currency, order.get("total"))
        values["order.delivery_address"] = _address(order.get("delivery_address") or {})
        values["order.payment_url"] = _url(order.get("payment_url"))
    if cart := context.get("cart"):
        currency = cart.get("currency", "")
        values["cart.items"] = _lines_table(cart.get("items") or [], currency, cart.get("total"))
        values["cart.total"] = _money(cart.get("total", 0), currency)
        values["cart.checkout_url"] = _url(cart.get("checkout_url"))
    if product := context.get("product"):
        values["product.name"] = product.get("name") or product.get("sku", "")
        values["product.price"] = _money(product.get("price", 0), product.get("currency", ""))
        values["product.url"] = _url(product.get("url"))
        values["product.card"] = _product_card(product)
    return values


# What the composer's preview and test mails show of an automation's event.
SAMPLE_LINES = [
    {"sku": "MUG-01", "name": "Stoneware mug", "quantity": 2, "unit_price": "14.00"},
    {"sku": "TEA-12", "name": "Sencha green tea, 100 g", "quantity": 1, "unit_price": "9.50"},
]
SAMPLE_CONTEXT = {
    "order": {
        "id": "1001",
        "total": "37.50",
        "currency": "USD",
        "lines": SAMPLE_LINES,
        "delivery_address": {
            "name": "Alex Example",
            "line1": "12 Harbour Street",
            "city": "Bristol",
            "postal_code": "BS1 4XE",
            "country": "GB",
        },
        "payment_url": "https://shop.example.com/orders/1001/pay",
    },
    "cart": {
        "id": "c-1",
        "items": SAMPLE_LINES,
        "total": "37.50",
        "currency": "USD",
        "checkout_url": "https://shop.example.com/cart",
    },
    "product": {
        "sku": "MUG-01",
        "name": "Stoneware mug",
        "price": "14.00",
        "currency": "USD",
        "url": "https://shop.example.com/products/mug-01",
        "image_url": "",
    },
}
