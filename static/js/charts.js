// Draws the page's charts from the JSON the server put in <script id="chart-data">.
// {labels, datasets: [{label, data}], attainment: {labels, data}, stages: {labels, amount, weighted}}
// → #revenue-trend (lines), #attainment-chart (bars), #stage-chart (bars: amount and weighted per stage).
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  // Colour-blind-safe palette (Okabe–Ito) with enough contrast on white.
  var palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  var money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

  var trend = document.getElementById("revenue-trend");
  if (trend && data.datasets) {
    new Chart(trend, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, i) {
          return {
            label: set.label, data: set.data, borderColor: set.color || palette[i % palette.length],
            backgroundColor: set.color || palette[i % palette.length], borderDash: set.dashed ? [6, 4] : [],
            tension: 0.2, spanGaps: true
          };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        // precision 0: whole-number ticks only, so a chart of zeros (axis 0…1) does not label 0.1…0.9 as
        // "0 0 0 0 0 1 1 1 1 1" once formatted without decimals; suggestedMax keeps that axis 0…1.
        scales: { y: { beginAtZero: true, suggestedMax: 1, ticks: { precision: 0, callback: function (v) { return money.format(v); } } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money.format(c.parsed.y); } } } }
      }
    });
  }

  var bars = document.getElementById("attainment-chart");
  if (bars && data.attainment) {
    new Chart(bars, {
      type: "bar",
      data: {
        labels: data.attainment.labels,
        datasets: [{
          label: data.attainment.label || "Attainment (%)", data: data.attainment.data,
          backgroundColor: data.attainment.data.map(function (v) {
            return v >= 100 ? "#1a7f37" : (v >= 80 ? "#9a6700" : "#cf222e");
          })
        }]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, indexAxis: "y",
        scales: { x: { beginAtZero: true, suggestedMax: 1, ticks: { precision: 0, callback: function (v) { return v + " %"; } } } },
        plugins: { legend: { display: false } }
      }
    });
  }

  var stages = document.getElementById("stage-chart");
  if (stages && data.stages) {
    new Chart(stages, {
      type: "bar",
      data: {
        labels: data.stages.labels,
        datasets: [
          { label: "Amount", data: data.stages.amount, backgroundColor: palette[0] },
          { label: "Weighted", data: data.stages.weighted, backgroundColor: palette[1] }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, suggestedMax: 1, ticks: { precision: 0, callback: function (v) { return money.format(v); } } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money.format(c.parsed.y); } } } }
      }
    });
  }
})();
