// Chat panel element (2): the customer's sentiment. A pill with the label in words and
// a colour (green / grey / red), and a tooltip — on hover and on keyboard focus,
// dismissed with Escape — with the score, the messages it came from and a sparkline of
// the last per-message scores. Fed by the panel data on load and by `sentiment` frames
// (docs/websocket-protocol.md). Texts are set with textContent, never as HTML.

import { el } from "./util.js";

const SVG = "http://www.w3.org/2000/svg";
const LABELS = { positive: "Positive", neutral: "Neutral", negative: "Negative" };
const TREND_WIDTH = 160;
const TREND_HEIGHT = 40;

function signed(value) {
  const text = Math.abs(value).toFixed(2);
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

function band(score) {
  // Only for colouring the trend's dots: the label itself comes from the server.
  return score >= 0.05 ? "positive" : score <= -0.05 ? "negative" : "neutral";
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** The trend as an inline SVG sparkline (-1 at the bottom, +1 at the top). */
function sparkline(trend) {
  const chart = svg("svg", { viewBox: `0 0 ${TREND_WIDTH} ${TREND_HEIGHT}`, width: TREND_WIDTH, height: TREND_HEIGHT, class: "sentiment__spark", "aria-hidden": "true", focusable: "false" });
  const pad = 5;
  const y = (score) => pad + ((1 - score) / 2) * (TREND_HEIGHT - 2 * pad);
  const x = (i) => (trend.length === 1 ? TREND_WIDTH / 2 : pad + (i * (TREND_WIDTH - 2 * pad)) / (trend.length - 1));
  chart.append(svg("line", { x1: 0, x2: TREND_WIDTH, y1: y(0), y2: y(0), class: "sentiment__zero" }));
  if (trend.length > 1) {
    const points = trend.map((point, i) => `${x(i).toFixed(1)},${y(point.score).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, class: "sentiment__line" }));
  }
  trend.forEach((point, i) => {
    chart.append(svg("circle", { cx: x(i).toFixed(1), cy: y(point.score).toFixed(1), r: 3, class: `sentiment__point sentiment__point--${band(point.score)}` }));
  });
  return chart;
}

/**
 * Show `state` (a `sentiment` frame or the panel's `sentiment`, null until scored) in
 * the panel's element 2. `enabled` false (App Studio switched sentiment off) hides it;
 * left out, the element stays as it is.
 */
export function renderSentiment(root, state, { enabled } = {}) {
  const node = root.querySelector('[data-field="sentiment"]');
  if (!node) return;
  if (enabled !== undefined) node.hidden = !enabled;
  const label = root.querySelector('[data-field="sentiment-label"]');
  const summary = root.querySelector('[data-field="sentiment-summary"]');
  const sources = root.querySelector('[data-field="sentiment-sources"]');
  const trendBox = root.querySelector('[data-field="sentiment-trend"]');
  if (!state) {
    node.dataset.sentiment = "none";
    label.textContent = "Not yet scored";
    summary.textContent = "Not yet scored: the sentiment appears after the customer's next message.";
    sources.replaceChildren();
    trendBox.replaceChildren();
    return;
  }
  const current = Number(node.dataset.seq || 0);
  if (state.seq < current) return; // an older score arrived late
  node.dataset.seq = String(state.seq);
  node.dataset.sentiment = state.label;
  node.dataset.score = String(state.score);
  label.textContent = LABELS[state.label] || state.label;
  const count = state.messages.length;
  summary.textContent = `${LABELS[state.label] || state.label}, score ${signed(state.score)} on a scale from −1 to +1, `
    + `from the customer's ${count === 1 ? "latest message" : `last ${count} messages`}${count > 1 ? " (the newest weighs most)" : ""}:`;
  sources.replaceChildren(...state.messages.slice().reverse().map((message) => {
    const item = el("li", { class: `sentiment__source sentiment__source--${band(message.score)}` });
    item.append(el("q", {}, message.text), el("span", { class: "sentiment__meta" }, ` ${signed(message.score)} · weight ${Math.round(message.weight * 100)}%`));
    return item;
  }));
  trendBox.replaceChildren();
  if (state.trend.length) {
    const scores = state.trend.map((point) => signed(point.score)).join(", ");
    trendBox.append(
      el("span", { class: "sentiment__trend-title" }, `Trend, last ${state.trend.length} message${state.trend.length === 1 ? "" : "s"}:`),
      sparkline(state.trend),
      el("span", { class: "visually-hidden" }, `Scores, oldest first: ${scores}.`),
    );
  }
}

/** Escape hides the tooltip without moving focus (WCAG 1.4.13); it shows again on the next hover or focus. */
export function wireSentiment(root) {
  const node = root.querySelector('[data-field="sentiment"]');
  if (!node) return;
  node.addEventListener("keydown", (event) => {
    if (event.key === "Escape") node.classList.add("sentiment--dismissed");
  });
  const reset = () => node.classList.remove("sentiment--dismissed");
  node.addEventListener("focus", reset);
  node.addEventListener("mouseenter", reset);
}
