from django.urls import path

from contacts import consent_views, views

app_name = "contacts"
urlpatterns = [
    path("", views.contact_list, name="list"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/erase/", views.contact_erase_view, name="erase"),
    path("groups/", views.group_list, name="groups"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    path("<int:pk>/export/", consent_views.contact_export_view, name="export"),
    path("suppressions/", consent_views.suppression_list, name="suppressions"),
    path("suppressions/add/", consent_views.suppression_add, name="suppression_add"),
    path(
        "suppressions/<str:kind>/<int:pk>/remove/",
        consent_views.suppression_remove,
        name="suppression_remove",
    ),
]
