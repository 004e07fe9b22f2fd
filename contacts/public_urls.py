"""Recipients' pages: no login, mounted at the site's root by marketing_site.urls."""

from django.urls import path

from contacts import public_views

app_name = "consent"
urlpatterns = [
    path("subscribe/<slug:key>/", public_views.signup, name="signup"),
    path("subscribe/<slug:key>/json", public_views.signup_api, name="signup_api"),
    path("subscribe/confirm/<str:token>/", public_views.confirm, name="confirm"),
    path("preferences/<str:token>/", public_views.preferences, name="preferences"),
]
