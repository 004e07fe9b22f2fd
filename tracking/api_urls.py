from django.urls import path

from tracking import api_views

app_name = "api"
urlpatterns = [
    path("events", api_views.events, name="events"),
    path("openapi.json", api_views.openapi_schema, name="openapi"),
]
