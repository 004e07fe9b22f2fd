"""Spreadsheet import and export of products and coupon codes."""

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from campaigns.models import Coupon, CouponCode, Product
from contacts.resources import StrictColumnsMixin, readonly_datetime, row_where


class ProductResource(StrictColumnsMixin, resources.ModelResource):
    class Meta:
        model = Product
        import_id_fields = ["sku"]
        # full_clean() on every row: the URL validators (http/https only) and
        # the field lengths hold for a file as for the admin form.
        clean_model_instances = True
        fields = ["sku", "name", "description", "url", "image_url", "price", "currency", "active"]


def coupon_for_import(reference) -> Coupon:
    """The unique-code coupon a spreadsheet cell names, by name or by id."""
    text = str(reference).strip()
    if not text:
        raise ValueError("the coupon is missing: give its name or id.")
    coupons = list(Coupon.objects.filter(name__iexact=text)[:2])
    if not coupons and text.removesuffix(".0").isdigit():  # spreadsheets make 7 into 7.0
        coupons = list(Coupon.objects.filter(pk=int(text.removesuffix(".0"))))
    if not coupons:
        raise ValueError(f"there is no coupon named “{text}” or with that id.")
    if len(coupons) > 1:
        raise ValueError(f"several coupons are named “{text}”: name the coupon by its id.")
    if coupons[0].kind != Coupon.Kind.UNIQUE:
        raise ValueError(
            f"“{coupons[0]}” has one shared code; only a coupon with unique codes has a pool."
        )
    return coupons[0]


class CouponWidget(widgets.ForeignKeyWidget):
    def __init__(self, **kwargs):
        super().__init__(Coupon, field="name", **kwargs)

    def clean(self, value, row=None, **kwargs):
        return value if isinstance(value, Coupon) else coupon_for_import(value)


class CouponCodeResource(StrictColumnsMixin, resources.ModelResource):
    coupon = fields.Field(attribute="coupon", column_name="coupon", widget=CouponWidget())
    assigned_to = fields.Field(attribute="contact__email", column_name="assigned_to", readonly=True)
    assigned_at = readonly_datetime("assigned_at")

    class Meta:
        model = CouponCode
        import_id_fields = ["coupon", "code"]
        fields = ["coupon", "code", "assigned_to", "assigned_at"]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # A file of codes names one coupon thousands of times.
        self._coupons: dict[str, Coupon] = {}

    def before_import_row(self, row, **kwargs):
        where = row_where(kwargs["row_number"])
        row["code"] = str(row.get("code") if row.get("code") is not None else "").strip()
        if not row["code"]:
            raise ValidationError({"code": f"{where}: the code is missing."})
        reference = str(row.get("coupon") if row.get("coupon") is not None else "").strip()
        try:
            if reference.lower() not in self._coupons:
                self._coupons[reference.lower()] = coupon_for_import(reference)
        except ValueError as error:
            raise ValidationError({"coupon": f"{where}: {error}"}) from None
        row["coupon"] = self._coupons[reference.lower()]
        super().before_import_row(row, **kwargs)
