/* Birge's maps, one module for all of them: the initiatives map ([data-map="initiatives"]), an
   initiative's place ([data-map="place"]) and the place picker of the initiative form
   ([data-map="picker"]). The tile server, the attribution and Leaflet's labels come from the
   server in the reader's language (#map-config, includes/map_config.html). What a map shows
   is also on the page as HTML (a list, the coordinates, the two text fields), so pages work
   without JavaScript or tiles; with no tiles (none configured, or none loading) the maps draw
   the district outlines Birge ships (static/geo/almaty-districts.geojson). */
(function () {
  "use strict";
  var configEl = document.getElementById("map-config");
  if (!window.L || !configEl) return;
  var config;
  try { config = JSON.parse(configEl.textContent); } catch (e) { return; }
  var labels = config.labels || {};
  var SVG = "http://www.w3.org/2000/svg";
  // Explicit URLs: Leaflet's guess from its stylesheet misses hashed (collected) file names.
  var icon = L.icon({
    iconUrl: config.icon.iconUrl,
    iconRetinaUrl: config.icon.iconRetinaUrl,
    shadowUrl: config.icon.shadowUrl,
    iconSize: [25, 41],
    iconAnchor: [12, 41],
    popupAnchor: [1, -34],
    tooltipAnchor: [16, -28],
    shadowSize: [41, 41]
  });

  var districts = null;
  function loadDistricts() {
    if (!districts) {
      districts = fetch(config.districtsUrl, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("districts: " + r.status);
        return r.json();
      });
    }
    return districts;
  }

  function showDistricts(map, el) {
    if (el.classList.contains("map-no-tiles")) return;
    el.classList.add("map-no-tiles");
    loadDistricts().then(function (data) {
      var layer = L.geoJSON(data, {
        // Not interactive: a click goes through to the map (the picker places its marker).
        interactive: false,
        style: { color: "#0b5c7a", weight: 2, fillColor: "#6fa8bf", fillOpacity: 0.18 },
        onEachFeature: function (feature, part) {
          var p = feature.properties;
          part.birgeName = p["name_" + config.lang] || p.name_en;
          part.birgeSlug = p.slug;
          part.bindTooltip(part.birgeName, {
            permanent: true, direction: "center", className: "map-district-label"
          });
        }
      }).addTo(map);
      layer.bringToBack();
      // Outlines carry no street detail: closer than this shows one flat colour. Leaflet
      // ignores a view change during a zoom animation, so that one is let finish first.
      var cap = function () { if (map.getZoom() > 12) map.setZoom(12); };
      if (map._animatingZoom) map.once("zoomend", cap); else cap();
      layer.eachLayer(function (part) {
        var path = part.getElement && part.getElement();
        if (!path) return;
        path.setAttribute("data-district", part.birgeSlug);
        var title = document.createElementNS(SVG, "title");
        title.textContent = part.birgeName;
        path.appendChild(title);
      });
      map.attributionControl.addAttribution(labels.districts);
    }).catch(function () {
      // Nothing to draw the map with: the page's HTML says the same.
      el.classList.add("map-failed");
    });
  }

  function addBase(map, el) {
    if (!config.tileUrl) { showDistricts(map, el); return; }
    var loaded = false;
    var tiles = L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.attribution });
    tiles.on("tileload", function () { loaded = true; });
    // A server that never delivered a tile is unreachable (or refused): draw the outlines.
    // Once tiles came, a stray error is only a hole in the map.
    tiles.on("tileerror", function () {
      if (loaded || !map.hasLayer(tiles)) return;
      map.removeLayer(tiles);
      showDistricts(map, el);
    });
    tiles.addTo(map);
  }

  // Views set in code are not animated: a zoom animation would swallow the outlines' zoom
  // limit (Leaflet ignores a view change while one runs).
  function createMap(el, options) {
    el.hidden = false;
    var map = L.map(el, L.extend({ zoomControl: false, scrollWheelZoom: false }, options || {}));
    L.control.zoom({ zoomInTitle: labels.zoomIn, zoomOutTitle: labels.zoomOut }).addTo(map);
    map.attributionControl.setPrefix(labels.prefix);
    map.on("popupopen", function (e) {
      var close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) {
        close.setAttribute("aria-label", labels.closePopup);
        close.title = labels.closePopup;
      }
    });
    map.setView(config.centre, config.zoom);
    addBase(map, el);
    return map;
  }

  function initiativesMap(el) {
    var data = document.getElementById(el.getAttribute("data-markers") || "initiative-markers");
    if (!data) return;
    var markers;
    try { markers = JSON.parse(data.textContent); } catch (e) { return; }
    var map = createMap(el);
    var label = el.getAttribute("data-supporters-label");
    var bounds = [];
    markers.forEach(function (m) {
      // Built from text nodes, never HTML strings: titles are what people typed.
      var popup = document.createElement("div");
      var link = document.createElement("a");
      link.href = m.url;
      link.textContent = m.title;
      var meta = document.createElement("p");
      meta.textContent = m.status + " · " + label + ": " + m.supports;
      popup.appendChild(link);
      popup.appendChild(meta);
      L.marker([m.lat, m.lng], { icon: icon, title: m.title, alt: m.title })
        .addTo(map).bindPopup(popup);
      bounds.push([m.lat, m.lng]);
    });
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15, animate: false });
    else if (bounds.length === 1) map.setView(bounds[0], 15, { animate: false });
  }

  function placeMap(el) {
    var lat = parseFloat(el.getAttribute("data-lat"));
    var lng = parseFloat(el.getAttribute("data-lng"));
    if (!isFinite(lat) || !isFinite(lng)) return;
    var map = createMap(el);
    map.setView([lat, lng], 15, { animate: false });
    // No popup, so no tab stop: the coordinates are in the text beside the map.
    L.marker([lat, lng], {
      icon: icon, alt: labels.marker, title: el.getAttribute("data-title") || labels.marker,
      keyboard: false
    }).addTo(map);
  }

  function parseCoordinate(value, limit) {
    var n = parseFloat(String(value).trim().replace(",", "."));
    return isFinite(n) && Math.abs(n) <= limit ? n : null;
  }

  function pickerMap(el) {
    var picker = el.closest("[data-map-picker]");
    var form = el.closest("form") || document;
    var latInput = form.querySelector("[data-map-lat]");
    var lngInput = form.querySelector("[data-map-lng]");
    if (!picker || !latInput || !lngInput) return;
    // The two fields stay the truth (and what is sent): side by side under the map.
    var latField = latInput.closest(".field");
    var lngField = lngInput.closest(".field");
    if (latField && lngField && latField.parentNode === lngField.parentNode) {
      var row = document.createElement("div");
      row.className = "map-coords";
      latField.parentNode.insertBefore(row, latField);
      row.appendChild(latField);
      row.appendChild(lngField);
      row.parentNode.insertBefore(picker, row);
    }
    picker.hidden = false;
    var status = picker.querySelector("[data-map-status]");
    var b = config.bounds;
    var map = createMap(el, b ? {
      maxBounds: L.latLngBounds(b).pad(0.25), maxBoundsViscosity: 0.8, minZoom: 10
    } : {});
    var marker = null;

    function current() {
      var lat = parseCoordinate(latInput.value, 90);
      var lng = parseCoordinate(lngInput.value, 180);
      return lat === null || lng === null ? null : L.latLng(lat, lng);
    }
    function fill(latlng) {
      latInput.value = latlng.lat.toFixed(6);
      lngInput.value = latlng.lng.toFixed(6);
      if (status) status.textContent = picker.getAttribute("data-text-placed");
    }
    function place(latlng) {
      if (!marker) {
        marker = L.marker(latlng, {
          icon: icon, draggable: true, alt: labels.pickerMarker, title: labels.pickerMarker
        }).addTo(map);
        marker.on("dragend", function () { fill(marker.getLatLng()); });
      } else {
        marker.setLatLng(latlng);
      }
    }
    function follow() {
      var latlng = current();
      if (latlng) {
        place(latlng);
        map.panTo(latlng);
      } else if (marker && !latInput.value.trim() && !lngInput.value.trim()) {
        map.removeLayer(marker);
        marker = null;
      }
    }

    map.on("click", function (e) { place(e.latlng); fill(e.latlng); });
    var centre = picker.querySelector("[data-map-centre]");
    if (centre) {
      centre.addEventListener("click", function () {
        var latlng = map.getCenter();
        place(latlng);
        fill(latlng);
      });
    }
    latInput.addEventListener("change", follow);
    lngInput.addEventListener("change", follow);
    var start = current();
    if (start) {
      place(start);
      map.setView(start, 15, { animate: false });
    }
  }

  var kinds = { initiatives: initiativesMap, place: placeMap, picker: pickerMap };
  Array.prototype.forEach.call(document.querySelectorAll("[data-map]"), function (el) {
    var make = kinds[el.getAttribute("data-map")];
    if (make) make(el);
  });
})();
