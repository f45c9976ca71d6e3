from django.urls import path

from pacing import views

app_name = "pacing"
urlpatterns = [
    path("", views.policy_edit, name="index"),  # the Numbers page's button: Live first
    path("<int:environment_id>/", views.policy_edit, name="policy"),
    # a tag's own pacing, from the tag's filter chip: Live first, then any environment
    path("tags/<str:tag_name>/", views.tag_policy_edit, name="tag_index"),
    path("<int:environment_id>/tags/<str:tag_name>/", views.tag_policy_edit, name="tag"),
]
