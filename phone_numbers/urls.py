from django.urls import path

from phone_numbers import views

app_name = "numbers"
urlpatterns = [
    path("", views.number_list, name="list"),
    path("new/", views.number_new, name="new"),
]
