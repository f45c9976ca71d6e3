from django.urls import path

from providers import webhooks

app_name = "hooks"
urlpatterns = [
    path("<str:provider>/voice/", webhooks.voice, name="voice"),
]
