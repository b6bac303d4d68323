// The manager tools' pages: one socket (/ws/supervision/?view=…) brings a snapshot of the
// page's rows, then only the rows that changed, and the alerts. Waits tick in the page
// from the server's timestamps. Everyone's text goes in with textContent.
import { LiveSocket, el, postJSON, waitText } from "../portal/js/util.js";

const root = document.getElementById("sv-root");
const view = root.dataset.view;
const rows = new Map(); // id → row of this view
const alerts = new Map(); // key → alert
let skew = 0; // server clock − browser clock, ms
const liveText = document.getElementById("sv-live");
const alertList = document.getElementById("sv-alerts");
const sound = document.getElementById("sv-sound");

function serverNow() { return Date.now() + skew; }
function secondsSince(iso) { return iso ? (serverNow() - Date.parse(iso)) / 1000 : 0; }
function pct(value) { return value === null || value === undefined ? "—" : `${Math.round(value * 100)} %`; }
function seconds(value) { return value === null || value === undefined ? "—" : waitText(value); }

function beep() {
  if (!sound || !sound.checked) return;
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.connect(ctx.destination);
    osc.frequency.value = 880;
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch (e) { /* no audio */ }
}

function renderAlerts(fresh = []) {
  alertList.replaceChildren();
  if (!alerts.size) { alertList.append(el("li", { class: "muted", "data-empty": "" }, "No alerts.")); return; }
  for (const alert of alerts.values()) {
    const li = el("li", { class: `sv-alert sv-alert--${alert.kind}` });
    li.append(el("span", { class: "sv-alert__icon", "aria-hidden": "true" }, "⚠"), el("span", {}, ` ${alert.message} `));
    if (alert.interaction_id) li.append(el("a", { href: `/interactions/${alert.interaction_id}/` }, "Open chat"));
    alertList.append(li);
  }
  if (fresh.length) beep();
}

// --- queues -------------------------------------------------------------------------------
function waitCell(row) {
  const td = el("td");
  if (!row.waiting || !row.oldest_queued_at) { td.textContent = "—"; return td; }
  td.dataset.oldest = row.oldest_queued_at;
  td.dataset.sl = String(row.service_level_seconds);
  paintWait(td);
  return td;
}

function paintWait(td) {
  if (!td.dataset.oldest) return;
  const waited = secondsSince(td.dataset.oldest);
  const over = waited > Number(td.dataset.sl);
  td.className = over ? "sv-wait sv-wait--over" : "sv-wait";
  td.replaceChildren(el("span", { "aria-hidden": "true" }, over ? "⚠ " : "✓ "), el("span", {}, waitText(waited)), el("span", { class: over ? "sv-flag" : "visually-hidden" }, over ? " past service level" : " within service level"));
}

function queueRow(row) {
  const tr = el("tr", { "data-id": row.id });
  tr.append(
    el("th", { scope: "row" }, row.name), el("td", {}, String(row.waiting)), waitCell(row), el("td", {}, String(row.active)),
    el("td", {}, String(row.csrs_joined)), el("td", {}, String(row.csrs_available)), el("td", {}, String(row.csrs_away)), el("td", {}, String(row.csrs_offline)),
    el("td", {}, pct(row.occupancy)), el("td", {}, `${row.offers_accepted} / ${row.offers_declined} / ${row.offers_missed}`),
    el("td", {}, seconds(row.avg_wait_today_seconds)),
  );
  const link = el("a", { href: `/supervision/queues/${row.id}/members/` }, "CSRs");
  link.append(el("span", { class: "visually-hidden" }, ` of ${row.name}`));
  const td = el("td"); td.append(link); tr.append(td);
  return tr;
}

function renderQueues() {
  const body = document.querySelector("#sv-queues tbody");
  const sort = document.getElementById("sv-sort").value;
  const list = [...rows.values()];
  if (sort === "wait") list.sort((a, b) => secondsSince(b.oldest_queued_at) * (b.waiting ? 1 : 0) - secondsSince(a.oldest_queued_at) * (a.waiting ? 1 : 0));
  else list.sort((a, b) => (b.occupancy ?? -1) - (a.occupancy ?? -1) || a.name.localeCompare(b.name));
  body.replaceChildren(...(list.length ? list.map(queueRow) : [emptyRow(12, "No queues.")]));
}

// --- CSRs ---------------------------------------------------------------------------------
function csrRow(row) {
  const tr = el("tr", { "data-id": row.id });
  const held = el("td");
  if (row.chats.length) {
    const ul = el("ul", { class: "sv-held" });
    for (const chat of row.chats) {
      const li = el("li");
      li.append(el("a", { href: `/interactions/${chat.id}/` }, chat.customer), el("span", {}, ` · ${chat.queue} · ${waitText(secondsSince(chat.accepted_at))}${chat.sentiment ? ` · ${chat.sentiment}` : ""}`));
      ul.append(li);
    }
    held.append(ul);
  } else held.textContent = "—";
  tr.append(
    el("th", { scope: "row" }, row.name), el("td", {}, row.status.charAt(0).toUpperCase() + row.status.slice(1)),
    el("td", {}, row.status_changed_at ? waitText(secondsSince(row.status_changed_at)) : "—"), el("td", {}, row.away_reason || "—"),
    el("td", {}, `${row.chats.length + (row.wrapups || 0)} / ${row.capacity}${row.wrapups ? ` (${row.wrapups} in wrap-up)` : ""}`), el("td", {}, String(row.handled_today)), el("td", {}, seconds(row.avg_handle_seconds)),
    el("td", {}, String(row.missed_today)),
    el("td", {}, row.ratings_today ? `${row.avg_rating_today}/5 (${row.ratings_today})` : "—"), held,
  );
  return tr;
}

function renderCsrs() {
  const body = document.querySelector("#sv-csrs tbody");
  const list = [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  body.replaceChildren(...(list.length ? list.map(csrRow) : [emptyRow(10, "No CSRs.")]));
  for (const select of document.querySelectorAll("[data-csr-select]")) {
    const keep = select.value;
    const first = select.querySelector('option[value=""]');
    select.replaceChildren(...(first ? [first] : []), ...list.map((r) => el("option", { value: r.id }, r.name)));
    if (keep) select.value = keep; // else the first option stays chosen
  }
  const chats = document.querySelector("[data-chat-select]");
  if (chats) {
    const keep = chats.value;
    chats.replaceChildren(...list.flatMap((r) => r.chats.map((c) => el("option", { value: c.id }, `${c.customer} (${r.name}, ${c.queue})`))));
    if (keep) chats.value = keep;
  }
}

function wireCsrForms() {
  const result = document.getElementById("sv-action-result");
  const submit = (id, url, body) => {
    document.getElementById(id).addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(event.target));
      try {
        await postJSON(url(data), body(data));
        result.textContent = "Done.";
        event.target.reset();
      } catch (error) { result.textContent = error.message; }
    });
  };
  const int = (v) => (v ? Number(v) : null);
  submit("sv-status-form", (d) => `/supervision-api/csrs/${d.csr_id}/status/`, (d) => ({ status: d.status, away_reason: d.away_reason, reason: d.reason }));
  submit("sv-capacity-form", (d) => `/supervision-api/csrs/${d.csr_id}/capacity/`, (d) => ({ capacity: int(d.capacity), reason: d.reason }));
  submit("sv-reassign-form", (d) => `/supervision-api/chats/${d.interaction_id}/reassign/`, (d) => ({ to_csr_id: int(d.to_csr_id), to_queue_id: int(d.to_queue_id), reason: d.reason }));
}

// --- chats --------------------------------------------------------------------------------
function chatRow(row) {
  const tr = el("tr", { "data-id": row.id });
  const link = el("td"); link.append(el("a", { href: `/interactions/${row.id}/` }, String(row.id)));
  const waiting = row.status !== "active";
  const since = waiting ? row.queued_at : row.accepted_at;
  tr.append(link, el("td", {}, row.customer), el("td", {}, waiting ? "Waiting" : "Active"), el("td", {}, row.queue), el("td", {}, row.channel),
    el("td", {}, row.csr || "—"), el("td", {}, row.sentiment || "—"), el("td", {}, `${waiting ? "waiting " : ""}${waitText(secondsSince(since))}`));
  return tr;
}

function renderChats() {
  const form = document.getElementById("sv-filters");
  const f = Object.fromEntries(new FormData(form));
  const min = Number(f.wait || 0);
  const list = [...rows.values()].filter((r) =>
    (!f.queue || String(r.queue_id) === f.queue) && (!f.channel || String(r.channel_id) === f.channel) &&
    (!f.csr || String(r.csr_id) === f.csr) && (!f.sentiment || r.sentiment === f.sentiment) &&
    (!min || (r.status !== "active" && secondsSince(r.queued_at) >= min)));
  list.sort((a, b) => a.id - b.id);
  const body = document.querySelector("#sv-chats tbody");
  body.replaceChildren(...(list.length ? list.slice(0, 500).map(chatRow) : [emptyRow(8, "No chat matches.")]));
}

// --- health -------------------------------------------------------------------------------
const LEVEL_ICON = { green: "●", amber: "▲", red: "■" };
function renderHealth(report) {
  if (!report) return;
  const checked = document.getElementById("sv-checked");
  checked.dateTime = report.checked_at;
  checked.textContent = new Date(report.checked_at).toLocaleTimeString();
  const body = document.querySelector("#sv-health tbody");
  body.replaceChildren(...report.checks.map((c) => {
    const tr = el("tr", { "data-key": c.key });
    const level = el("span", { class: `sv-level sv-level--${c.level}` });
    level.append(el("span", { "aria-hidden": "true" }, LEVEL_ICON[c.level] || ""), el("span", {}, ` ${c.level.charAt(0).toUpperCase()}${c.level.slice(1)}`));
    const td = el("td"); td.append(level);
    tr.append(el("th", { scope: "row" }, c.name), td, el("td", {}, c.reason));
    return tr;
  }));
}

function emptyRow(span, text) { const tr = el("tr"); tr.append(el("td", { colspan: span, class: "empty" }, text)); return tr; }

const RENDER = { queues: renderQueues, csrs: renderCsrs, chats: renderChats, health: () => {} };

function apply(frame) {
  if (frame.server_time) skew = Date.parse(frame.server_time) - Date.now();
  const section = view === "health" ? null : view;
  if (frame.type === "supervision.snapshot") {
    rows.clear();
    alerts.clear();
    if (section) for (const row of frame[section] || []) rows.set(row.id, row);
    for (const alert of frame.alerts || []) alerts.set(alert.key, alert);
    renderAlerts();
    if (view === "health") renderHealth(frame.health);
  } else if (frame.type === "supervision.update") {
    if (section) {
      for (const row of frame[section] || []) rows.set(row.id, row);
      for (const id of frame[`${section}_removed`] || []) rows.delete(id);
    }
    const fresh = frame.alerts || [];
    for (const alert of fresh) alerts.set(alert.key, alert);
    for (const key of frame.alerts_cleared || []) alerts.delete(key);
    if (fresh.length || (frame.alerts_cleared || []).length) renderAlerts(fresh);
  } else if (frame.type === "supervision.health") {
    if (view === "health") renderHealth(frame);
    return;
  } else return;
  RENDER[view]();
  root.dataset.updatedAt = String(Date.now());
}

new LiveSocket({
  url: `/ws/supervision/?view=${encodeURIComponent(view)}`,
  onMessage: apply,
  onState: (state) => { liveText.textContent = { open: "Live", connecting: "Connecting…", delayed: "Live updates delayed", reconnecting: "Reconnecting…", closed: "Not live" }[state] || state; },
});

if (view === "queues") document.getElementById("sv-sort").addEventListener("change", renderQueues);
if (view === "csrs") wireCsrForms();
if (view === "chats") document.getElementById("sv-filters").addEventListener("input", renderChats);
// Waits tick between updates.
setInterval(() => {
  if (view === "queues") document.querySelectorAll("#sv-queues td[data-oldest]").forEach(paintWait);
}, 1000);
