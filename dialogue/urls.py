"""Page URLs of dialogue."""

from django.urls import path

from civic.views import section_placeholder

app_name = "dialogue"
urlpatterns = [
    path("", section_placeholder, {"template": "dialogue/index.html"}, name="index"),
]
