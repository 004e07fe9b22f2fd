from django.contrib import admin
from django.db import models

from tracking.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Events are facts from recipients and the ESP; nobody edits them."""

    # Shop links are https; Django 5.x would otherwise assume http and warn.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["created_at", "kind", "is_machine", "contact", "message", "url"]
    list_select_related = ["contact", "message"]
    list_filter = ["kind", "is_machine"]
    search_fields = ["contact__email", "message__email"]
    # Millions of rows: skip the unfiltered COUNT(*) on every page.
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
