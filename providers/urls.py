from django.urls import path

from providers import views

app_name = "providers"
urlpatterns = [
    path("", views.providers_list, name="list"),
    path("new/", views.connection_new, name="new"),
    path("<int:connection_id>/edit/", views.connection_edit, name="edit"),
    path("<int:connection_id>/verify/", views.connection_verify, name="verify"),
    path("<int:connection_id>/disconnect/", views.connection_disconnect_view, name="disconnect"),
]
