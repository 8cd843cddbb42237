/* The dashboard's 30-day volume chart: data from the page's JSON (json_script), no inline script. */
(function () {
  "use strict";
  var canvas = document.getElementById("volume-chart");
  var source = document.getElementById("volume-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#0b5cad", "#b3261e", "#17803d", "#8a4baf", "#c27c0e"];
  var datasets = data.series.map(function (series, i) {
    return {
      type: "bar",
      label: series.currency,
      data: series.totals.map(Number),
      backgroundColor: palette[i % palette.length],
      yAxisID: "amount"
    };
  });
  datasets.push({
    type: "line",
    label: canvas.dataset.countLabel || "Entries",
    data: data.counts,
    borderColor: "#5b6775",
    backgroundColor: "#5b6775",
    yAxisID: "count"
  });
  var lang = document.documentElement.lang || undefined;
  new Chart(canvas, {
    data: { labels: data.labels, datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: lang,
      scales: {
        amount: { type: "linear", position: "left", beginAtZero: true },
        count: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false } }
      }
    }
  });
})();
