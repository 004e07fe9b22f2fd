from django.urls import path

from tracking import public_views, views

app_name = "tracking"
urlpatterns = [
    path("o/<str:token>.gif", views.open_pixel, name="open"),
    path("c/<str:token>", views.click, name="click"),
    path("u/<str:token>", public_views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/again", public_views.resubscribe, name="resubscribe"),
    path("v/<str:token>", views.web_view, name="web_view"),
]
