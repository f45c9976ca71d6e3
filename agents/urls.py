from django.urls import path

from agents import views

app_name = "agents"
variant = "<int:agent_id>/variants/<int:variant_id>"
urlpatterns = [
    path("", views.agents_list, name="list"),
    path("new/", views.agent_new, name="new"),
    path("<int:agent_id>/edit/", views.agent_edit, name="edit"),
    path("<int:agent_id>/delete/", views.agent_delete, name="delete"),
    path("<int:agent_id>/variants/new/", views.variant_new, name="variant-new"),
    path(f"{variant}/edit/", views.variant_edit, name="variant-edit"),
    path(f"{variant}/delete/", views.variant_delete, name="variant-delete"),
    path(f"{variant}/publish/", views.variant_publish, name="variant-publish"),
]
