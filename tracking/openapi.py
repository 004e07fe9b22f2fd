"""The events API described: an OpenAPI 3.1 schema, and one curl example per
event type for the docs page. Both come from the same sample events."""

import json

CUSTOMER = {
    "id": "c-1001",
    "email": "ann@example.com",
    "first_name": "Ann",
    "last_name": "Lee",
    "nickname": "Annie",
    "locale": "en",
    "time_zone": "Europe/Riga",
    "attributes": {"birthday": "1990-04-12"},
    "accepts_marketing": True,
}
LINE = {
    "sku": "MUG-1",
    "name": "Stoneware mug",
    "category": "kitchen",
    "quantity": 2,
    "unit_price": "12.00",
    "image_url": "https://shop.example.com/img/mug.jpg",
    "url": "https://shop.example.com/p/mug",
}
ORDER = {
    "id": "o-5001",
    "customer": {"email": "ann@example.com"},
    "total": "24.00",
    "currency": "EUR",
    "lines": [LINE],
    "delivery_address": {"name": "Ann Lee", "line1": "1 Market St", "city": "Riga"},
    "payment_url": "https://shop.example.com/pay/o-5001",
    "click_token": "",
}
PRODUCT = {
    "sku": "MUG-1",
    "name": "Stoneware mug",
    "category": "kitchen",
    "url": "https://shop.example.com/p/mug",
    "image_url": "https://shop.example.com/img/mug.jpg",
    "price": "12.00",
    "currency": "EUR",
    "stock": 40,
}

SAMPLES = [
    ("customer.registered", "A customer registered", {"customer": CUSTOMER}),
    ("customer.updated", "A customer changed their details", {"customer": CUSTOMER}),
    ("order.created", "An order was placed (paid or not)", {"order": ORDER}),
    ("order.paid", "An order was paid", {"order": ORDER}),
    ("order.shipped", "An order was shipped", {"order": ORDER}),
    ("order.delivered", "An order was delivered", {"order": ORDER}),
    ("order.cancelled", "An order was cancelled", {"order": ORDER}),
    (
        "cart.updated",
        "A cart changed",
        {
            "cart": {
                "id": "cart-77",
                "customer": {"email": "ann@example.com"},
                "items": [LINE],
                "total": "24.00",
                "currency": "EUR",
                "checkout_url": "https://shop.example.com/cart/77",
            }
        },
    ),
    (
        "product.viewed",
        "A customer looked at a product",
        {"product": PRODUCT, "seconds": 95, "customer": {"email": "ann@example.com"}},
    ),
    ("product.upserted", "A product was added or changed", {"product": PRODUCT}),
]


def _event(kind: str, data: dict, n: int) -> dict:
    return {"id": f"evt-{n:04d}", "type": kind, "occurred_at": "2026-11-24T09:30:00Z", "data": data}


def examples(url: str) -> list[dict]:
    out = []
    for n, (kind, title, data) in enumerate(SAMPLES, start=1):
        body = json.dumps(_event(kind, data, n), indent=2, ensure_ascii=False)
        curl = (
            f"curl -X POST {url} \\\n"
            '  -H "Authorization: Bearer $MAIL_API_KEY" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'"
        )
        out.append({"type": kind, "title": title, "curl": curl})
    return out


def schema(url: str) -> dict:
    event = {
        "type": "object",
        "required": ["id", "type", "data"],
        "properties": {
            "id": {
                "type": "string",
                "maxLength": 100,
                "description": "The shop's own id of the event: a repeated id is accepted once.",
            },
            "type": {"type": "string", "enum": [kind for kind, _, _ in SAMPLES]},
            "occurred_at": {"type": "string", "format": "date-time"},
            "data": {"type": "object", "description": "See the examples per type."},
        },
        "examples": [_event(kind, data, n) for n, (kind, _, data) in enumerate(SAMPLES, 1)],
    }
    result = {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer"},
            "duplicates": {"type": "integer"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "id": {"type": ["string", "null"]},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
            },
        },
    }
    error = {"type": "object", "properties": {"error": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shop events API", "version": "1"},
        "servers": [{"url": url.rsplit("/", 1)[0]}],
        "components": {
            "securitySchemes": {"key": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Event": event, "Result": result, "Error": error},
        },
        "security": [{"key": []}],
        "paths": {
            "/events": {
                "post": {
                    "summary": "Send one event, or a batch of up to 1,000",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Event"},
                                        {
                                            "type": "object",
                                            "properties": {
                                                "events": {
                                                    "type": "array",
                                                    "maxItems": 1000,
                                                    "items": {"$ref": "#/components/schemas/Event"},
                                                }
                                            },
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _response(
                            "Stored; invalid items listed with an error per field", "Result"
                        ),
                        "400": _response("Nothing could be stored", "Result"),
                        "401": _response("No valid API key", "Error"),
                        "413": _response("The body is too large", "Error"),
                        "429": _response("Too many requests for this key", "Error"),
                    },
                }
            }
        },
    }


def _response(description: str, name: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }
