from django.urls import path

from phone_numbers import bulk_views, views

app_name = "numbers"
urlpatterns = [
    path("", views.number_list, name="list"),
    path("new/", views.number_new, name="new"),
    path("link/", views.number_link_view, name="link"),
    path("bulk/", bulk_views.number_bulk, name="bulk"),
    path("bulk/release/", bulk_views.number_bulk_release, name="bulk_release"),
    path("bulk/buy/", bulk_views.number_bulk_buy, name="bulk_buy"),
    path("jobs/<int:job_id>/", bulk_views.bulk_job_detail, name="job"),
    path("export.csv", bulk_views.number_export, name="export"),
    path("import/", bulk_views.number_import, name="import"),
    path("reputation/", views.reputation_schedule_edit, name="reputation"),
    path("<int:number_id>/", views.number_detail, name="detail"),
    path("<int:number_id>/edit/", views.number_edit, name="edit"),
    path("<int:number_id>/detach/", views.number_detach_view, name="detach"),
    path("<int:number_id>/delete/", views.number_delete, name="delete"),
    path("<int:number_id>/restore/", views.number_restore_view, name="restore"),
    path("<int:number_id>/health/", views.number_health_view, name="health"),
]
