from django.urls import path

from campaigns.donotcall import views

app_name = "dnc"
urlpatterns = [
    path("", views.dnc_list, name="list"),
    path("add/", views.dnc_add_view, name="add"),
    path("import/", views.dnc_import_view, name="import"),
    path("export.csv", views.dnc_export, name="export"),
    path("<int:entry_id>/remove/", views.dnc_remove_view, name="remove"),
    path("token/", views.dnc_token_view, name="token"),
]
