"""The maps' configuration (tile server, attribution, Leaflet's labels in the reader's language)
for static/js/map.js, rendered once per page by {% map_config %}."""

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from communities.models import ALMATY_LAT, ALMATY_LON

register = template.Library()

# Where the maps open when there is nothing to show: Almaty's centre.
ALMATY_CENTRE = [43.238, 76.945]


@register.inclusion_tag("includes/map_config.html")
def map_config():
    return {
        "config": {
            "tileUrl": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
            "districtsUrl": static("geo/almaty-districts.geojson"),
            "lang": (get_language() or settings.LANGUAGE_CODE)[:2],
            "centre": ALMATY_CENTRE,
            "zoom": 11,
            # The box a place must lie in (the model's constraint): the picker stays near it.
            "bounds": [
                [float(ALMATY_LAT[0]), float(ALMATY_LON[0])],
                [float(ALMATY_LAT[1]), float(ALMATY_LON[1])],
            ],
            # Leaflet's own English labels, in the reader's language.
            "labels": {
                "zoomIn": _("Zoom in"),
                "zoomOut": _("Zoom out"),
                "prefix": format_html(
                    '<a href="https://leafletjs.com" title="{}">Leaflet</a>',
                    _("A JavaScript library for interactive maps"),
                ),
                "closePopup": _("Close popup"),
                "marker": _("The place of the initiative"),
                "pickerMarker": _("The chosen place: drag to move it"),
                "districts": _("District outlines: simplified, by Birge"),
            },
            "icon": {
                "iconUrl": static("vendor/leaflet/images/marker-icon.png"),
                "iconRetinaUrl": static("vendor/leaflet/images/marker-icon-2x.png"),
                "shadowUrl": static("vendor/leaflet/images/marker-shadow.png"),
            },
        }
    }
