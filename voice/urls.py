from django.urls import path

from voice import views

app_name = "hooks"
urlpatterns = [
    path("<str:provider>/voice/", views.voice, name="voice"),
]
