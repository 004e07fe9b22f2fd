from django.urls import path

from contacts import import_views, views

app_name = "contacts"
urlpatterns = [
    path("", views.contact_list, name="list"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/erase/", views.contact_erase_view, name="erase"),
    path("groups/", views.group_list, name="groups"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    # Imports (contacts.import_views)
    path("import/", import_views.import_start, name="import"),
    path("import/sample.csv", import_views.import_sample, name="import_sample"),
    path("import/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("import/<int:pk>/columns/", import_views.import_mapping, name="import_mapping"),
    path("import/<int:pk>/cancel/", import_views.import_cancel, name="import_cancel"),
    path("import/<int:pk>/rejected.csv", import_views.import_rejected, name="import_rejected"),
]
