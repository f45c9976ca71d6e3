from django.urls import path

from voice import stop, views

app_name = "hooks"
urlpatterns = [
    path("<str:provider>/voice/", views.voice, name="voice"),
    path("<str:provider>/status/", views.status, name="status"),
    path("stop/", stop.stop, name="stop"),
]
