from django.urls import path

from contacts import consent_views, import_views, views

app_name = "contacts"
urlpatterns = [
    path("", views.contact_list, name="list"),
    path("add/", views.contact_add, name="add"),
    path("bulk/", views.contact_bulk, name="bulk"),
    path("export/", views.contact_export, name="export"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/edit/", views.contact_edit, name="edit"),
    path("<int:pk>/erase/", views.contact_erase_view, name="erase"),
    path("groups/", views.group_list, name="groups"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    path("<int:pk>/export/", consent_views.contact_export_view, name="data_export"),
    path("suppressions/", consent_views.suppression_list, name="suppressions"),
    path("suppressions/add/", consent_views.suppression_add, name="suppression_add"),
    path(
        "suppressions/<str:kind>/<int:pk>/remove/",
        consent_views.suppression_remove,
        name="suppression_remove",
    ),
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_add, name="segment_add"),
    path("segments/count/", views.segment_preview_count, name="segment_preview_count"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/count/", views.segment_count_view, name="segment_count"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment_delete"),
    # Imports (contacts.import_views)
    path("import/", import_views.import_start, name="import"),
    path("import/sample.csv", import_views.import_sample, name="import_sample"),
    path("import/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("import/<int:pk>/columns/", import_views.import_mapping, name="import_mapping"),
    path("import/<int:pk>/cancel/", import_views.import_cancel, name="import_cancel"),
    path("import/<int:pk>/again/", import_views.import_run_again, name="import_run_again"),
    path("import/<int:pk>/rejected.csv", import_views.import_rejected, name="import_rejected"),
]
