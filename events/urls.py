from django.urls import path

from events import views

app_name = "events"
urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_new, name="new"),
    path("<int:endpoint_id>/", views.endpoint_detail, name="detail"),
    path("<int:endpoint_id>/edit/", views.endpoint_edit, name="edit"),
    path("<int:endpoint_id>/test/", views.endpoint_test_view, name="test"),
    path("<int:endpoint_id>/secret/", views.endpoint_secret, name="secret"),
    path("<int:endpoint_id>/delete/", views.endpoint_delete_view, name="delete"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/retry/", views.delivery_retry_view, name="retry"),
]
