from django.urls import path

from tracking import api_views

app_name = "integrations"
urlpatterns = [
    path("api-keys/", api_views.api_key_list, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", api_views.api_key_revoke, name="api_key_revoke"),
    path("api/", api_views.api_docs, name="api_docs"),
]
