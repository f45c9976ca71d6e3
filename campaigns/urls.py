from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaigns_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("<int:campaign_id>/upload/", views.campaign_upload, name="upload"),
    path("<int:campaign_id>/coverage/", views.campaign_coverage_view, name="coverage"),
    path("<int:campaign_id>/calls.csv", views.campaign_calls_csv, name="calls_csv"),
    path("numbers/<int:number_id>/calls/", views.number_calls, name="number_calls"),
    path("<int:campaign_id>/start/", views.campaign_control, {"action": "start"}, name="start"),
    path("<int:campaign_id>/pause/", views.campaign_control, {"action": "pause"}, name="pause"),
    path("<int:campaign_id>/resume/", views.campaign_control, {"action": "resume"}, name="resume"),
    path("<int:campaign_id>/cancel/", views.campaign_control, {"action": "cancel"}, name="cancel"),
]
