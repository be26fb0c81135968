"""Community pages."""

from django.shortcuts import render

from .selectors import community_list_public


def community_list(request):
    return render(request, "communities/index.html", {"communities": community_list_public()})
