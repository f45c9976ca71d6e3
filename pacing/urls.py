from django.urls import path

from pacing import views

app_name = "pacing"
urlpatterns = [
    path("", views.policy_edit, name="index"),  # the Numbers page's button: Live first
    path("<int:environment_id>/", views.policy_edit, name="policy"),
]
