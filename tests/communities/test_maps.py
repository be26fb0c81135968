"""Maps (issue 13): the district outlines Birge ships, the tile server as a setting (and the CSP
that follows it), the map configuration in the reader's language, and in a real browser the
initiative's place, the place picker, the fallback to district outlines and Leaflet's labels."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings

from accounts.districts import ALMATY_DISTRICTS
from accounts.models import District
from communities import demo
from communities.models import ALMATY_LAT, ALMATY_LON, Initiative
from tests.conftest import (
    ROOT,
    AsgiServer,
    free_port,
    server_env,
    server_env_on_test_db,
    session_cookie,
)
from tests.factories import CommunityFactory, district, make_initiative, make_member

GEOJSON = ROOT / "static" / "geo" / "almaty-districts.geojson"


def load_districts() -> dict:
    return json.loads(GEOJSON.read_text())


def point_in_ring(lon: float, lat: float, ring: list[list[float]]) -> bool:
    """Even-odd ray casting: does the point lie inside the closed ring?"""
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring)) / 2


# --- The district outlines ---------------------------------------------------------------------


def test_point_in_ring_tells_inside_from_outside():
    square = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]
    assert point_in_ring(1, 1, square)
    assert not point_in_ring(3, 1, square)
    assert not point_in_ring(1, -0.5, square)


def test_the_outlines_are_valid_geojson_of_eight_polygons():
    data = load_districts()
    assert data["type"] == "FeatureCollection"
    assert "simplified" in data["_comment"].lower()  # honest about what they are
    features = data["features"]
    assert len(features) == 8
    for feature in features:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] == "Polygon"
        (ring,) = geometry["coordinates"]
        assert len(ring) >= 4
        assert ring[0] == ring[-1], feature["properties"]["slug"]  # closed
        assert signed_area(ring) > 0  # RFC 7946: exterior rings counterclockwise
        for lon, lat in ring:
            # [longitude, latitude], inside the box an initiative's place must lie in
            assert ALMATY_LON[0] <= Decimal(str(lon)) <= ALMATY_LON[1]
            assert ALMATY_LAT[0] <= Decimal(str(lat)) <= ALMATY_LAT[1]


@pytest.mark.django_db
def test_the_outlines_name_the_districts_as_the_database_does():
    district("almaly")  # the reference rows are there
    by_slug = {f["properties"]["slug"]: f["properties"] for f in load_districts()["features"]}
    assert set(by_slug) == {slug for slug, *_names in ALMATY_DISTRICTS}
    for row in District.objects.all():
        names = by_slug[row.slug]
        assert (names["name_kk"], names["name_ru"], names["name_en"]) == (
            row.name_kk,
            row.name_ru,
            row.name_en,
        )


def test_each_demo_initiative_lies_in_its_own_district_and_no_other():
    rings = {
        f["properties"]["slug"]: f["geometry"]["coordinates"][0]
        for f in load_districts()["features"]
    }
    located = [row for row in demo.INITIATIVES if row[5]]
    assert len(located) >= 5
    for row in located:
        slug, (lat, lon) = row[4], row[5]
        holders = [s for s, ring in rings.items() if point_in_ring(float(lon), float(lat), ring)]
        assert holders == [slug], (row[1], holders)


def test_the_outlines_leave_no_gap_in_the_city_centre():
    """Neighbours share their borders: a grid of points around the centre each fall in
    exactly one district."""
    rings = [f["geometry"]["coordinates"][0] for f in load_districts()["features"]]
    for i in range(20):
        for j in range(20):
            lon = 76.80 + i * 0.015  # 76.80 .. 77.085
            lat = 43.15 + j * 0.0075  # 43.15 .. 43.2925
            assert sum(point_in_ring(lon, lat, ring) for ring in rings) == 1, (lon, lat)


# --- The tile server is a setting, and the CSP follows it -------------------------------------


def settings_in_a_fresh_process(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.MAP_TILE_URL, s.MAP_TILE_ORIGIN, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**server_env(), **env},
        check=True,
        capture_output=True,
        text=True,
    )
    url, origin, img_src = json.loads(out.stdout.strip().splitlines()[-1])
    return {"url": url, "origin": origin, "img-src": img_src}


def test_the_csp_allows_the_configured_tile_host_and_no_other():
    default = settings_in_a_fresh_process(
        MAP_TILE_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    )
    assert default["img-src"] == ["'self'", "data:", "https://tile.openstreetmap.org"]
    mine = settings_in_a_fresh_process(
        MAP_TILE_URL="https://{s}.tiles.example.kz:8443/{z}/{x}/{y}.png"
    )
    assert mine["img-src"] == ["'self'", "data:", "https://*.tiles.example.kz:8443"]
    none = settings_in_a_fresh_process(MAP_TILE_URL="")
    assert none["url"] == ""
    assert none["img-src"] == ["'self'", "data:"]


def test_env_example_lists_the_map_settings_with_their_defaults():
    text = (ROOT / ".env.example").read_text()
    assert "\nMAP_TILE_URL=https://tile.openstreetmap.org/{z}/{x}/{y}.png\n" in text
    match = re.search(r"\nMAP_TILE_ATTRIBUTION='(.*)'\n", text)
    assert match and "OpenStreetMap" in match.group(1)
    assert "OpenStreetMap" in settings.MAP_TILE_ATTRIBUTION


# --- Pages carry the map's configuration in the reader's language -----------------------------


def map_config(html: str) -> dict:
    match = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', html)
    assert match, "no map configuration on the page"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_an_initiative_with_a_place_has_a_map_and_one_without_has_none(client, settings):
    settings.MAP_TILE_URL = "https://tiles.example.kz/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "© Example tiles"
    placed = make_initiative(
        district_id=district("almaly").pk, latitude=Decimal("43.2567"), longitude=Decimal("76.9286")
    )
    html = client.get(f"/ru/initiatives/{placed.pk}/").content.decode()
    assert 'data-map="place"' in html
    assert 'data-lat="43.256700" data-lng="76.928600"' in html
    assert "vendor/leaflet/leaflet.js" in html and "vendor/leaflet/leaflet.css" in html
    config = map_config(html)
    assert config["tileUrl"] == "https://tiles.example.kz/{z}/{x}/{y}.png"
    assert config["attribution"] == "© Example tiles"
    assert config["lang"] == "ru"
    assert config["districtsUrl"].endswith("geo/almaty-districts.geojson")
    assert set(config["labels"]) >= {"zoomIn", "zoomOut", "prefix", "marker", "closePopup"}
    # The coordinates are written out too: the place without JavaScript or tiles.
    assert "43.25670, 76.92860" in html

    unplaced = make_initiative(community=placed.community)
    html = client.get(f"/ru/initiatives/{unplaced.pk}/").content.decode()
    assert "data-map=" not in html
    assert "leaflet" not in html


@pytest.mark.django_db
def test_the_form_has_the_picker_and_keeps_the_two_fields(client):
    community = CommunityFactory()
    client.force_login(make_member(community))
    html = client.get("/en/initiatives/new/").content.decode()
    assert 'data-map="picker"' in html
    assert "Use the map centre" in html
    # The fields stay: the picker fills them, and they are what is sent.
    assert re.search(r'<input[^>]*name="latitude"[^>]*data-map-lat', html)
    assert re.search(r'<input[^>]*name="longitude"[^>]*data-map-lng', html)
    # The picker shows only when the script runs.
    assert re.search(r'<div class="map-picker" hidden', html)


# --- A real browser against a real server -----------------------------------------------------


def in_a_browser(test):
    for mark in (
        pytest.mark.browser,
        pytest.mark.server,
        pytest.mark.postgres,
        pytest.mark.django_db(transaction=True),
    ):
        test = mark(test)
    return test


# A tile for every {z}/{x}/{y}, served by the server itself: the maps load tiles without the
# internet, so any console error is a real one.
LOCAL_TILES = "/static/vendor/leaflet/images/layers.png?z={z}&x={x}&y={y}"
EN_NAMES = {slug: en for slug, _kk, _ru, en in ALMATY_DISTRICTS}


@pytest.fixture
def start_server(settings, monkeypatch):
    # The test's ORM calls run beside Playwright's event loop (see tests/conftest.py).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    servers = []

    def start(**env):
        server = AsgiServer(server_env_on_test_db(settings.REDIS_URL, **env)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def watch(page) -> list[str]:
    """The page's console errors and uncaught exceptions, as they come."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} @ {m.location.get('url')}") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    return problems


def placed_initiative(**fields):
    return make_initiative(
        status="submitted",
        district_id=district("almaly").pk,
        latitude=Decimal("43.256700"),
        longitude=Decimal("76.928600"),
        **fields,
    )


@in_a_browser
def test_the_initiative_page_shows_its_place_on_the_map(browser, start_server, artifacts_dir):
    initiative = placed_initiative()
    server = start_server(MAP_TILE_URL=LOCAL_TILES)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    problems = watch(page)
    page.goto(f"{server.url}/en/initiatives/{initiative.pk}/")
    the_map = page.locator('[data-map="place"]')
    the_map.locator("img.leaflet-tile-loaded").first.wait_for()
    marker = the_map.locator("img.leaflet-marker-icon")
    assert marker.count() == 1
    assert marker.get_attribute("alt") == "The place of the initiative"
    assert marker.get_attribute("title") == initiative.title
    # The marker's tip is where the initiative is: the centre of the map.
    box, pin = the_map.bounding_box(), marker.bounding_box()
    assert abs(pin["x"] + pin["width"] / 2 - (box["x"] + box["width"] / 2)) < 3
    assert abs(pin["y"] + pin["height"] - (box["y"] + box["height"] / 2)) < 3
    # Tiles came, so no outlines; the attribution is the setting's.
    assert the_map.locator("path[data-district]").count() == 0
    assert "OpenStreetMap" in the_map.locator(".leaflet-control-attribution").inner_text()
    zoom_in = the_map.locator(".leaflet-control-zoom-in")
    assert zoom_in.get_attribute("title") == "Zoom in"
    assert zoom_in.get_attribute("aria-label") == "Zoom in"
    page.screenshot(path=str(artifacts_dir / "initiative-map-place.png"), full_page=True)
    page.wait_for_timeout(300)
    assert problems == []
    page.close()


@in_a_browser
def test_the_picker_fills_latitude_and_longitude_and_the_form_saves_them(
    browser, start_server, artifacts_dir
):
    community = CommunityFactory()
    member = make_member(community)
    server = start_server(MAP_TILE_URL=LOCAL_TILES)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies([session_cookie(member, server.url)])
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{server.url}/en/initiatives/new/")
    picker = page.locator('[data-map="picker"]')
    picker.locator("img.leaflet-tile-loaded").first.wait_for()
    lat, lng = page.get_by_label("Latitude"), page.get_by_label("Longitude")
    assert lat.input_value() == "" and lng.input_value() == ""

    # A click puts the marker there and fills both fields.
    box = picker.bounding_box()
    picker.click(position={"x": box["width"] / 2 + 60, "y": box["height"] / 2 - 40})
    clicked = (float(lat.input_value()), float(lng.input_value()))
    assert 43.238 < clicked[0] < 43.45 and 76.945 < clicked[1] < 77.2  # north-east of centre
    assert picker.locator("img.leaflet-marker-icon").count() == 1
    assert page.locator("[data-map-status]").inner_text() == (
        "Place set: the latitude and longitude fields are filled in."
    )

    # The keyboard: focus the map, pan west with the arrow keys, take the centre.
    picker.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(400)  # the pan's animation
    page.get_by_role("button", name="Use the map centre").click()
    centre = (float(lat.input_value()), float(lng.input_value()))
    assert abs(centre[0] - 43.238) < 0.01
    assert centre[1] < 76.945 - 0.01  # moved west of Almaty's centre
    assert picker.locator("img.leaflet-marker-icon").count() == 1  # moved, not added

    # Typed coordinates move the marker there (and the map with it).
    lat.fill("43.2567")
    lng.fill("76.9286")
    lng.press("Tab")
    page.wait_for_timeout(500)  # the pan's animation
    box, pin = picker.bounding_box(), picker.locator("img.leaflet-marker-icon").bounding_box()
    assert abs(pin["x"] + pin["width"] / 2 - (box["x"] + box["width"] / 2)) < 3
    assert abs(pin["y"] + pin["height"] - (box["y"] + box["height"] / 2)) < 3
    page.get_by_role("button", name="Use the map centre").click()
    # The map centred on the typed place (to a pixel of the current zoom).
    assert abs(float(lat.input_value()) - 43.2567) < 0.001
    assert abs(float(lng.input_value()) - 76.9286) < 0.001
    page.screenshot(path=str(artifacts_dir / "initiative-map-picker.png"), full_page=True)
    page.locator("#id_title").fill("Benches along the river")
    page.locator("#id_summary").fill("Twenty benches along the Esentai.")
    sent = (Decimal(lat.input_value()), Decimal(lng.input_value()))
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/en/initiatives/\d+/$"))
    saved = Initiative.objects.get(title="Benches along the river")
    assert (saved.latitude, saved.longitude) == sent
    assert problems == []
    context.close()


@in_a_browser
@pytest.mark.parametrize("tiles", ["unreachable", "none"])
def test_with_no_tiles_the_maps_draw_the_district_outlines(
    browser, start_server, artifacts_dir, tiles
):
    placed_initiative()
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png" if tiles == "unreachable" else ""
    server = start_server(MAP_TILE_URL=url)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    problems = watch(page)
    page.goto(f"{server.url}/en/initiatives/map/")
    the_map = page.locator('[data-map="initiatives"]')
    outlines = the_map.locator("svg path[data-district]")
    outlines.nth(7).wait_for(state="attached")
    assert outlines.count() == 8
    drawn = {
        outlines.nth(i).get_attribute("data-district"): outlines.nth(i)
        .locator("title")
        .text_content()
        for i in range(8)
    }
    assert drawn == EN_NAMES
    labels = the_map.locator(".map-district-label").all_inner_texts()
    assert sorted(labels) == sorted(EN_NAMES.values())
    assert the_map.locator("img.leaflet-marker-icon").count() == 1  # the initiative is there too
    # Zoomed out far enough to see the district and its neighbours (not one flat colour).
    box = the_map.bounding_box()
    for name in ("Almaly District", "Auezov District", "Zhetysu District"):
        label = the_map.locator(".map-district-label", has_text=name).bounding_box()
        assert box["x"] < label["x"] and label["x"] + label["width"] < box["x"] + box["width"]
        assert box["y"] < label["y"] and label["y"] + label["height"] < box["y"] + box["height"]
    assert the_map.locator("img.leaflet-tile").count() == 0
    assert (
        "District outlines: simplified"
        in the_map.locator(".leaflet-control-attribution").inner_text()
    )
    page.screenshot(path=str(artifacts_dir / f"initiative-map-districts-{tiles}.png"))
    page.wait_for_timeout(300)
    # The only errors are the tiles the browser could not fetch.
    assert [p for p in problems if f"127.0.0.1:{port}/" not in p] == []
    if tiles == "unreachable":
        assert problems, "the tiles were tried"
    page.close()


@in_a_browser
def test_leaflet_speaks_kazakh_on_kazakh_pages(browser, start_server):
    """Leaflet's labels come from the server's catalogue (Kazakh here), not from the script."""
    initiative = placed_initiative()
    server = start_server(MAP_TILE_URL="")
    page = browser.new_page()
    problems = watch(page)
    page.goto(f"{server.url}/kk/initiatives/{initiative.pk}/")
    the_map = page.locator('[data-map="place"]')
    the_map.locator("svg path[data-district]").nth(7).wait_for(state="attached")
    zoom_in = the_map.locator(".leaflet-control-zoom-in")
    zoom_out = the_map.locator(".leaflet-control-zoom-out")
    assert (zoom_in.get_attribute("title"), zoom_in.get_attribute("aria-label")) == (
        "Үлкейту",
        "Үлкейту",
    )
    assert (zoom_out.get_attribute("title"), zoom_out.get_attribute("aria-label")) == (
        "Кішірейту",
        "Кішірейту",
    )
    assert the_map.locator("img.leaflet-marker-icon").get_attribute("alt") == "Бастаманың орны"
    prefix = the_map.locator(".leaflet-control-attribution a[href='https://leafletjs.com']")
    assert (
        prefix.get_attribute("title") == "Интерактивті карталарға арналған JavaScript кітапханасы"
    )
    # The district outlines are named in Kazakh too.
    titles = the_map.locator("svg path[data-district] title").all_text_contents()
    assert "Алмалы ауданы" in titles and len(titles) == 8
    assert problems == []
    page.close()
