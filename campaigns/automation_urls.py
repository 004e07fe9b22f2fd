from django.urls import path

from campaigns import automation_views as views

app_name = "automations"
urlpatterns = [
    path("", views.automation_list, name="list"),
    path("recipes/", views.recipe_gallery, name="recipes"),
    path("new/", views.automation_create, name="create"),
    path("<int:pk>/", views.automation_detail, name="detail"),
    path("<int:pk>/settings/", views.automation_edit, name="edit"),
    path("<int:pk>/turn/", views.automation_turn, name="turn"),
    path("<int:pk>/steps/", views.step_add, name="step_add"),
    path("<int:pk>/steps/<int:step_pk>/delay/", views.step_delay, name="step_delay"),
    path("<int:pk>/steps/<int:step_pk>/delete/", views.step_delete, name="step_delete"),
]
