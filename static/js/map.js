/* The map of initiatives. The same initiatives are listed in HTML below the map, so the page
   works without JavaScript or without map tiles; this only draws them on OpenStreetMap. */
(function () {
  "use strict";
  var el = document.getElementById("initiative-map");
  var data = document.getElementById("initiative-markers");
  if (!el || !data || !window.L) return;
  var markers;
  try { markers = JSON.parse(data.textContent); } catch (e) { return; }
  el.hidden = false;
  var map = L.map(el, { scrollWheelZoom: false }).setView([43.238, 76.945], 11);
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19,
    attribution: el.getAttribute("data-attribution")
  }).addTo(map);
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
    L.marker([m.lat, m.lng], { title: m.title, alt: m.title }).addTo(map).bindPopup(popup);
    bounds.push([m.lat, m.lng]);
  });
  if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
  else if (bounds.length === 1) map.setView(bounds[0], 15);
})();
