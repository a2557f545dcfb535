// Accounts of geographic territories on a Leaflet map, clustered, coloured by their territory's attainment.
// No tile URL configured (no internet) → the countries' outlines (vendored world-atlas TopoJSON) under it.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var status = document.getElementById("map-status");
  // maxZoom on the map itself: without a tile layer nothing else sets it, and clustering needs it.
  var map = L.map("map", { preferCanvas: true, maxZoom: 18 }).setView([20, 0], 2);
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: config.attribution || "", maxZoom: 18 }).addTo(map);
  } else if (config.outline_url && window.topojson) {
    document.getElementById("map").classList.add("map-outline");
    fetch(config.outline_url)
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (world) {
        if (!world) { return; }
        var countries = L.geoJSON(topojson.feature(world, world.objects.countries), {
          interactive: false,
          style: { color: "#adb5bd", weight: 1, fillColor: "#f8f9fa", fillOpacity: 1 },
          attribution: "Natural Earth (world-atlas)",
        }).addTo(map);
        countries.bringToBack();
        map.getContainer().dataset.outlines = countries.getLayers().length;
      })
      .catch(function () { /* the accounts still show, on a blank background */ });
  }
  function colour(attainment) {
    if (attainment === null || attainment === undefined) { return "#6e7781"; }
    if (attainment >= 1) { return "#1a7f37"; }
    if (attainment >= 0.8) { return "#bf8700"; }
    return "#cf222e";
  }
  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }
  var url = config.data_url + window.location.search;
  fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (data) {
      var cluster = L.markerClusterGroup({ chunkedLoading: true });
      var bounds = [];
      data.accounts.forEach(function (a) {
        var marker = L.circleMarker([a.lat, a.lng], {
          radius: 6, color: "#ffffff", weight: 1, fillColor: colour(a.attainment), fillOpacity: 0.9
        });
        var pct = a.attainment === null ? "no target" : (a.attainment * 100).toFixed(1) + " %";
        marker.bindPopup("<strong>" + escapeHtml(a.name) + "</strong><br>" + escapeHtml(a.territory) + ": " + pct);
        cluster.addLayer(marker);
        bounds.push([a.lat, a.lng]);
      });
      map.addLayer(cluster);
      if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 10 }); }
      status.textContent = data.accounts.length
        ? data.accounts.length + " accounts, attainment for " + data.period +
          (data.truncated ? " (showing the first " + data.limit + ")" : "") + "."
        : "No located accounts in geographic territories you can see. Accounts need latitude and longitude.";
    })
    .catch(function (error) { status.textContent = "The accounts could not be loaded (" + String(error) + ")."; });
})();
