// Charts of the Reports page and the dashboards, drawn with the vendored Chart.js from
// each canvas's data-chart (labels, datasets and each point's drill-down link). A click
// on a point opens the chats behind it; the table view beside each chart holds the
// same figures as links, for the keyboard and screen readers.

const COLORS = ["#1d4ed8", "#137a3b", "#b42318", "#9a5b00", "#6b21a8", "#0e7490"];

function draw(canvas) {
  const spec = JSON.parse(canvas.dataset.chart);
  const stacked = spec.type === "stacked";
  const type = spec.type === "line" ? "line" : "bar";
  const datasets = spec.datasets.map((set, i) => ({
    label: set.label,
    data: set.data,
    backgroundColor: COLORS[i % COLORS.length],
    borderColor: COLORS[i % COLORS.length],
    tension: 0.2,
  }));
  const chart = new window.Chart(canvas, {
    type,
    data: { labels: spec.labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { stacked }, y: { stacked, beginAtZero: true } },
      onHover: (event, elements) => {
        canvas.style.cursor = elements.length ? "pointer" : "default";
      },
      onClick: (event, elements) => {
        if (!elements.length) return;
        const { datasetIndex, index } = elements[0];
        const href = spec.datasets[datasetIndex].drill[index];
        if (href) window.location.assign(href);
      },
    },
  });
  canvas.dataset.drawn = "true";
  return chart;
}

for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
  draw(canvas);
}
