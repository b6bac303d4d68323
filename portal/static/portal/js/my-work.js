// My Work: availability, queues with live counts, the incoming chat pop-up and the active
// chats as tabs — driven by the /ws/agent/ socket; actions go through the HTTP API.
import { LiveSocket, el, postJSON, getJSON, waitText } from "./util.js";
import { ChatPanel, revokedText } from "./chat-panel.js";
import { startWrapup } from "./wrapup.js";
import { initNotifications, notifyOffer, seen, unseenCount, watchPanel } from "./notifications.js";
import { wireDraft } from "./drafts.js";
import { wireShortcuts } from "./shortcuts.js";

const $ = (id) => document.getElementById(id);
const baseTitle = document.title;
const chats = new Map(); // interaction id → {panel, tab, wrap, section, name}
let selected = null;
let offer = null; // the offer on screen
let offerTimer = null;
let capacity = 0;
const userId = JSON.parse($("notify-settings").textContent).user_id;
initNotifications({
  isFront: (id) => selected === id,
  onOpen: (id) => { if (chats.has(id)) select_(id, true); },
  onChange: () => updateTitle(),
});
wireShortcuts();

// --- Toast ------------------------------------------------------------------------------
let toastTimer;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

// --- Availability -------------------------------------------------------------------------
const select = $("status-select");
let committed = null; // the value the server last confirmed
let keyed = false; // the value on show was reached with the keyboard and is not set yet
function renderAwayReasons(reasons) {
  const group = $("away-reasons");
  // Replacing the options would drop a reason the CSR has picked with the keys and not
  // set yet (the select falls back to its first option): keep it on show.
  const shown = select.value;
  group.replaceChildren(...reasons.map((r) => el("option", { value: `away:${r.code}` }, `Away — ${r.label}`)));
  if (!reasons.length) group.append(el("option", { value: "away:", disabled: true }, "Away — no reasons set up by an administrator"));
  if ([...select.options].some((o) => o.value === shown)) select.value = shown;
}
function renderStatus(s) {
  $("status-dot").dataset.status = s.status;
  // Offline set by the portal (reason "Disconnected"): say why, not a bare Offline.
  const offline = select.querySelector('option[value="offline"]');
  offline.textContent = s.status === "offline" && s.reason ? `Offline — ${s.reason.label}` : "Offline";
  let value = s.status;
  if (s.status === "away") {
    const match = [...select.options].find((o) => o.value.startsWith("away:") && o.textContent === `Away — ${s.away_reason}`);
    if (match) value = match.value;
    else {
      // A reason the portal set (Missed offers, Disconnected): shown, not selectable.
      let own = select.querySelector("option[data-system]");
      if (!own) { own = el("option", { "data-system": "", disabled: true }); $("away-reasons").append(own); }
      own.value = "away:__system";
      own.textContent = `Away — ${s.away_reason || "Away"}`;
      value = own.value;
    }
  }
  committed = value;
  // A choice still waiting for Enter stays on show; the server's status is what it replaces.
  if (!keyed) select.value = value;
  select.disabled = false;
  $("status-note").textContent = s.note || "";
}

// A status is set on a deliberate choice. Chromium fires "change" on every arrow press
// in a closed <select>, so a choice made with the keys waits for Enter (or for focus to
// leave the list); Escape takes it back. A pick with the mouse is set at once.
select.addEventListener("pointerdown", () => { keyed = false; });
select.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); commitStatus(); return; }
  if (event.key === "Escape" && select.value !== committed) {
    event.preventDefault();
    select.value = committed;
    keyed = false;
    $("status-pending").textContent = "";
    return;
  }
  if (event.key !== "Tab") keyed = true;
});
select.addEventListener("change", () => {
  if (!keyed) { commitStatus(); return; }
  $("status-pending").textContent = select.value === committed ? ""
    : `Press Enter to set ${select.selectedOptions[0].textContent}, or Escape to keep your status.`;
});
select.addEventListener("blur", () => commitStatus());

async function commitStatus() {
  keyed = false;
  $("status-pending").textContent = "";
  if (committed === null || select.value === committed) return;
  const previous = committed;
  committed = select.value; // one post per choice, even if Enter and blur both follow
  const [status, reason] = select.value.split(":");
  try {
    const state = await postJSON("/api/v1/agent/status/", { status, reason: reason || "" });
    renderState(state, { reply: true });
  } catch (e) {
    committed = previous;
    select.value = previous;
    toast(e.message);
  }
}

// --- Queues ---------------------------------------------------------------------------------
const queues = new Map(); // id → row elements
function renderQueues(list) {
  const ul = $("queues");
  ul.replaceChildren();
  queues.clear();
  if (!list.length) {
    ul.append(el("li", { class: "empty" }, "No queues yet: an administrator allows you to work queues."));
    return;
  }
  for (const q of list) {
    const li = el("li", { class: "queue", dataset: { queue: q.slug } });
    const name = el("span", { class: "queue__name", id: `queue-name-${q.id}` }, q.name);
    const toggle = el("button", { type: "button", class: "switch", role: "switch", "aria-checked": String(!!q.joined), "aria-labelledby": `queue-name-${q.id}`, title: q.joined ? "Leave this queue" : "Join this queue" });
    const counts = el("span", { class: "queue__counts" });
    li.append(name, toggle, counts);
    ul.append(li);
    toggle.addEventListener("click", async () => {
      const joined = toggle.getAttribute("aria-checked") === "true";
      toggle.disabled = true;
      try {
        renderState(await postJSON(`/api/v1/agent/queues/${encodeURIComponent(q.slug)}/${joined ? "leave" : "join"}/`), { reply: true });
      } catch (e) { toast(e.message); }
      finally { toggle.disabled = false; queues.get(q.id)?.toggle.focus(); }
    });
    queues.set(q.id, { li, toggle, counts });
    renderCounts(q);
  }
}
function renderCounts(q) {
  const row = queues.get(q.id);
  if (!row) return;
  const waiting = el("span", { title: "Chats waiting" });
  waiting.append(el("strong", { class: q.waiting ? "hot" : "" }, String(q.waiting)), " waiting");
  const longest = el("span", { title: "Longest wait" }, q.waiting ? `longest ${waitText(q.longest_wait_seconds)}` : "no wait");
  const available = el("span", { title: "CSRs available" });
  available.append(el("strong", {}, String(q.csrs_available)), " available");
  row.counts.replaceChildren(waiting, longest, available);
}
function renderJoined(list) {
  if (list.length !== queues.size || list.some((q) => !queues.has(q.queue_id))) {
    // A manager added this CSR to a queue or took them out of one: the state has its counts.
    getJSON("/api/v1/agent/state/").then((state) => renderState(state, { reply: true })).catch(() => {});
    return;
  }
  for (const q of list) {
    const row = queues.get(q.queue_id);
    if (!row) continue;
    row.toggle.setAttribute("aria-checked", String(!!q.joined));
    row.toggle.title = q.joined ? "Leave this queue" : "Join this queue";
  }
}

// `reply`: the state as the reply to this tab's own request saw it. The socket may have
// shown an offer made since (joining a queue with chats waiting offers one at once, often
// before the reply arrives): a reply shows an offer, but never closes one.
function renderState(state, { reply = false } = {}) {
  capacity = state.capacity;
  renderAwayReasons(state.away_reasons || []);
  renderStatus(state);
  renderQueues(state.queues || []);
  renderCapacity(state.active_chats);
  // On every (re)connect: open what this workspace missed while it was away, including
  // a chat given back to this CSR whose old tab is closed (ended or taken away).
  for (const id of state.active_chat_ids || []) if (!isLive(id)) openChat(id, false);
  for (const id of state.wrapup_chat_ids || []) if (!chats.has(id)) openWrapup(id);
  if (state.pending_offer) showOffer(state.pending_offer);
  else if (offer && !reply) hideOffer();
}
function renderCapacity(active) {
  // A chat in wrap-up still takes one of the CSR's places.
  const open = [...chats.values()].filter((entry) => !("ended" in entry.tab.dataset) || entry.wrapup?.open).length;
  $("capacity").textContent = `Chats: ${active ?? open} of ${capacity}`;
}

// --- The incoming chat pop-up ------------------------------------------------------------
const dialog = $("offer");
const closedOffers = new Set(); // ids the socket said were closed: a late reply cannot reopen them
function showOffer(o) {
  if (closedOffers.has(o.offer_id)) return;
  if (offer && offer.offer_id === o.offer_id) return;
  offer = { ...o, receivedAt: Date.now(), total: Math.max(1, o.expires_in_seconds) };
  dialog.removeAttribute("data-closed");
  dialog.querySelector(".offer__closed")?.remove();
  $("offer-kicker").textContent = o.transfer ? "Incoming transfer" : "Incoming chat";
  $("offer-title").textContent = o.customer_name;
  $("offer-channel").textContent = o.channel;
  $("offer-queue").textContent = o.queue;
  $("offer-intent").textContent = o.intent || "—";
  $("offer-transfer").hidden = !o.transfer;
  $("offer-transferred-by").textContent = o.transfer ? `Transferred by ${o.transferred_by || "a CSR"}` : "";
  $("offer-note").textContent = o.note || "No note.";
  $("offer-reason").value = "";
  $("offer-reason-wrap").hidden = false;
  $("offer-error").hidden = true;
  $("offer-accept").disabled = false;
  $("offer-decline").disabled = false;
  tick();
  clearInterval(offerTimer);
  offerTimer = setInterval(tick, 250);
  if (!dialog.open) dialog.showModal();
  $("offer-accept").focus();
  document.title = `(1) Incoming chat — ${o.customer_name}`;
  notifyOffer(o); // once per offer: the sound, the list, a desktop notice when hidden
}
function tick() {
  if (!offer) return;
  const elapsed = (Date.now() - offer.receivedAt) / 1000;
  const left = Math.max(0, Math.ceil(offer.expires_in_seconds - elapsed));
  $("offer-countdown").textContent = left > 0 ? `Expires in ${left} s` : "Expiring…";
  $("offer-bar").style.width = `${Math.max(0, (offer.expires_in_seconds - elapsed) / offer.total) * 100}%`;
  $("offer-countdown-wrap").toggleAttribute("data-urgent", left <= 10);
  $("offer-waiting").textContent = waitText(offer.waiting_seconds + elapsed);
}
function hideOffer() {
  clearInterval(offerTimer);
  if (offer) seen(`offer:${offer.offer_id}`);
  offer = null;
  if (dialog.open) dialog.close();
  document.title = baseTitle;
  updateTitle();
}
function offerClosed(frame) {
  if (!offer || offer.offer_id !== frame.offer_id) return;
  const name = offer.customer_name;
  hideOffer();
  const why = {
    expired: `You missed the chat from ${name}. ${frame.message}`,
    withdrawn: `The chat from ${name} was withdrawn. ${frame.message}`,
  }[frame.reason];
  if (why) toast(why);
}
dialog.addEventListener("cancel", (event) => event.preventDefault()); // Escape does not dismiss an offer
$("offer-accept").addEventListener("click", async () => {
  if (!offer) return;
  const current = offer;
  $("offer-accept").disabled = true;
  $("offer-decline").disabled = true;
  try {
    const result = await postJSON(`/api/v1/agent/offers/${current.offer_id}/accept/`);
    hideOffer();
    await openChat(result.interaction_id, true);
  } catch (e) {
    $("offer-error").textContent = e.message;
    $("offer-error").hidden = false;
    setTimeout(() => { if (offer === current) hideOffer(); }, 3000);
  }
});
$("offer-decline").addEventListener("click", async () => {
  if (!offer) return;
  const current = offer;
  try {
    await postJSON(`/api/v1/agent/offers/${current.offer_id}/decline/`, { reason: $("offer-reason").value.trim() });
    hideOffer();
    toast(`You declined the chat from ${current.customer_name}.`);
  } catch (e) {
    $("offer-error").textContent = e.message;
    $("offer-error").hidden = false;
    setTimeout(() => { if (offer === current) hideOffer(); }, 3000);
  }
});
$("offer-reason").addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); $("offer-decline").click(); }
});

// --- Active chats as tabs ---------------------------------------------------------------------
const template = $("chat-panel-template");
function clonePanel(id) {
  const fragment = template.content.cloneNode(true);
  const attrs = ["id", "for", "aria-labelledby", "aria-controls", "aria-describedby"];
  fragment.querySelectorAll("*").forEach((node) => {
    for (const name of attrs) {
      const value = node.getAttribute(name);
      if (value && value.includes("__ID__")) node.setAttribute(name, value.replaceAll("__ID__", String(id)));
    }
  });
  return fragment.querySelector("[data-panel]");
}

/** Whether the chat has a tab that still works it (not ended, not taken away). */
function isLive(id) {
  const entry = chats.get(id);
  return Boolean(entry) && !("ended" in entry.tab.dataset);
}

// A chat this CSR is given (accepted, or given back after a transfer) gets a working tab:
// an existing live tab is selected; a dead one (the chat was transferred away from this
// CSR earlier, or ended) is replaced in place by a fresh panel with its own socket.
async function openChat(id, focus) {
  if (isLive(id)) { select_(id, focus); return; }
  let data;
  try {
    data = await getJSON(`/portal-api/interactions/${id}/panel/`);
  } catch (e) { toast(e.message); return; }
  if (isLive(id)) { select_(id, focus); return; }
  if (data.mode !== "live") {
    // Ended since it was given (it stays this CSR's, read-only): a new tab shows it as a
    // chat ended later does, its socket replaying the conversation. Otherwise no longer
    // this CSR's to work (taken again meanwhile): keep what is on screen.
    const ended = data.status === "ended" || data.status === "abandoned";
    if (chats.has(id) || !ended) {
      if (chats.has(id)) select_(id, focus);
      return;
    }
    data = { ...data, mode: "live" };
  }
  const old = chats.get(id);
  if (old) removeChat(id, { keepPlace: true });
  addChat(data, old ? old.wrap : null);
  select_(id, focus);
}

// A chat ended while this page was away whose wrap-up is still open: its tab comes back.
async function openWrapup(id) {
  let data;
  try {
    data = await getJSON(`/portal-api/interactions/${id}/panel/`);
  } catch (e) { return; }
  if (chats.has(id)) return;
  // Shown as a chat that ends while on screen: its socket replays the conversation
  // (a read-only panel would wait for history this page never rendered).
  addChat({ ...data, mode: "live" });
  if (selected === null) select_(id, false);
}

function addChat(data, placeOf = null) {
  const id = data.id;
  const section = clonePanel(id);
  section.setAttribute("role", "tabpanel");
  section.setAttribute("aria-labelledby", `chat-tab-${id}`);
  section.hidden = true;
  $("chat-panels").append(section);
  const wrap = el("div", { class: "chat-tab-wrap", role: "presentation" });
  const tab = el("button", { type: "button", role: "tab", class: "chat-tab", id: `chat-tab-${id}`, "aria-controls": section.id, "aria-selected": "false", tabindex: "-1" });
  const badge = el("span", { class: "badge", hidden: true });
  tab.append(el("span", { class: "chat-tab__name" }, data.customer.name), el("span", { class: "chat-tab__meta" }, data.channel.name), badge);
  wrap.append(tab);
  if (placeOf && placeOf.parentNode) placeOf.replaceWith(wrap);
  else $("chat-tabs").append(wrap);
  const entry = { section, tab, wrap, badge, name: data.customer.name };
  chats.set(id, entry);
  entry.panel = new ChatPanel(section, data, {
    isVisible: () => selected === id,
    toast,
    onUnread: (n) => {
      if (n === 0) seen(`chat:${id}`); // on screen now: its notifications are seen
      badge.hidden = n === 0;
      badge.textContent = String(n);
      badge.setAttribute("aria-label", `${n} unread`);
      updateTitle();
    },
    onStatus: (status) => {
      if (status === "ended" || status === "abandoned") { tab.dataset.ended = ""; addClose(id); renderCapacity(); wrapupOf(entry, id); }
    },
    onRevoked: (text) => { tab.dataset.ended = ""; addClose(id); renderCapacity(); toast(`${entry.name}: ${text}`); },
  });
  watchPanel(entry.panel, { name: data.customer.name });
  wireDraft(entry.panel, userId);
  if (data.status === "ended") { tab.dataset.ended = ""; addClose(id); wrapupOf(entry, id); }
  tab.addEventListener("click", () => select_(id, false));
  tab.addEventListener("keydown", (event) => {
    const ids = [...chats.keys()];
    const index = ids.indexOf(id);
    let next = null;
    if (event.key === "ArrowRight") next = ids[(index + 1) % ids.length];
    if (event.key === "ArrowLeft") next = ids[(index - 1 + ids.length) % ids.length];
    if (event.key === "Home") next = ids[0];
    if (event.key === "End") next = ids[ids.length - 1];
    if (event.key === "Delete" && chats.get(id)?.close) { event.preventDefault(); closeAndKeepFocus(id); return; }
    if (next !== null) { event.preventDefault(); select_(next, true); chats.get(next).tab.focus(); }
  });
  $("empty-state").hidden = true;
  renderCapacity();
}

function wrapupOf(entry, id) {
  if (entry.wrapupAsked) return;
  entry.wrapupAsked = true;
  startWrapup(entry.section, id, { toast, onChange: () => renderCapacity() }).then((wrapup) => {
    if (wrapup && chats.get(id) === entry) entry.wrapup = wrapup;
    else if (wrapup) wrapup.destroy();
    renderCapacity();
  });
}

function addClose(id) {
  const entry = chats.get(id);
  if (!entry || entry.close) return;
  // A tablist may hold only tabs: the × on the tab is for the mouse (hidden from assistive
  // technology, out of the Tab order); keyboard and screen-reader users get the same
  // action as a button in the panel's toolbar, and Delete on the tab.
  entry.close = el("button", { type: "button", class: "btn btn--icon chat-tab__close", "aria-hidden": "true", tabindex: "-1", title: `Close the chat with ${entry.name}` }, "×");
  entry.close.addEventListener("click", () => removeChat(id));
  entry.wrap.append(entry.close);
  entry.closeInPanel = el("button", { type: "button", class: "btn btn--ghost", "aria-label": `Close tab: the chat with ${entry.name}` }, "Close tab");
  entry.closeInPanel.addEventListener("click", () => closeAndKeepFocus(id));
  entry.section.querySelector(".panel__tools")?.append(entry.closeInPanel);
}

/** Close a chat from the keyboard: focus goes to the tab now selected, or to the page. */
function closeAndKeepFocus(id) {
  removeChat(id);
  (selected !== null ? chats.get(selected).tab : $("main")).focus();
}

// keepPlace: the tab is about to be replaced (openChat): its element stays where it is
// for the new one to take its place, and no other tab is selected meanwhile.
function removeChat(id, { keepPlace = false } = {}) {
  const entry = chats.get(id);
  if (!entry) return;
  // An open wrap-up still holds one of the CSR's places: its form stays until released.
  if (!keepPlace && entry.wrapup?.open) { toast("Finish the wrap-up first: this chat still takes one of your places."); return; }
  entry.panel.destroy();
  entry.wrapup?.destroy();
  entry.section.remove();
  if (!keepPlace) entry.wrap.remove();
  chats.delete(id);
  if (keepPlace) return;
  seen(`chat:${id}`);
  if (selected === id) {
    selected = null;
    const first = chats.keys().next();
    if (!first.done) select_(first.value, false);
  }
  $("empty-state").hidden = chats.size > 0;
  renderCapacity();
  updateTitle();
}

function select_(id, focus) {
  selected = id;
  for (const [other, entry] of chats) {
    const on = other === id;
    entry.section.hidden = !on;
    entry.tab.setAttribute("aria-selected", String(on));
    entry.tab.tabIndex = on ? 0 : -1;
  }
  const entry = chats.get(id);
  entry.panel.shown();
  if (focus) {
    const box = entry.section.querySelector('[data-field="composer"]:not([hidden]) textarea');
    (box || entry.tab).focus();
  }
}

function updateTitle() {
  if (offer) return;
  // The notifications not seen yet (messages in chats not on screen, whispers, offers).
  const unseen = unseenCount();
  document.title = unseen ? `(${unseen}) ${baseTitle}` : baseTitle;
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && selected !== null) chats.get(selected)?.panel.shown();
});

// --- The /ws/agent/ socket ---------------------------------------------------------------------
const connection = $("connection");
let liveBackTimer;
function connectionText(text, title = "") {
  clearTimeout(liveBackTimer);
  $("connection-text").textContent = text;
  connection.title = title;
}
new LiveSocket({
  url: "/ws/agent/",
  onState: (state, delay) => {
    // "delayed": connected, but offers and counts wait until the server's Redis is back.
    connection.dataset.state = { open: "open", closed: "closed", delayed: "delayed" }[state] || "connecting";
    if (state === "open") connectionText("Connected");
    else if (state === "delayed") connectionText("Live updates delayed", "Offers and queue counts arrive when the server has reconnected; nothing is lost.");
    else if (state === "reconnecting") connectionText(`Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
    else connectionText(state === "closed" ? "Disconnected" : "Connecting…");
  },
  onFinal: (code) => { if (code === 4403) toast("Your account may not take chats here."); },
  onMessage: (frame) => {
    switch (frame.type) {
      case "state": renderState(frame); break;
      case "live.restored":
        connectionText("Live updates are back");
        liveBackTimer = setTimeout(() => { $("connection-text").textContent = "Connected"; }, 5000);
        break;
      case "status": renderStatus(frame); if (frame.note) toast(frame.note); break;
      case "queues": renderJoined(frame.queues); break;
      case "queue.counts": renderCounts(frame.queue); break;
      case "offer": showOffer(frame); break;
      case "offer.closed":
        closedOffers.add(frame.offer_id);
        offerClosed(frame);
        if (frame.reason === "accepted") openChat(frame.interaction_id, false);
        break;
      case "wrapup.released": {
        const entry = chats.get(frame.interaction_id);
        if (entry?.wrapup) entry.wrapup.released(frame);
        else if (frame.outcome === "timed_out") toast(frame.message);
        renderCapacity();
        break;
      }
      case "chat.revoked": {
        const entry = chats.get(frame.interaction_id);
        if (entry) entry.panel.revoked(revokedText(frame.reason));
        break;
      }
      default: break;
    }
  },
});

// --- Start: the chats the server says are active ---------------------------------------------
for (const data of JSON.parse($("panels-data").textContent)) addChat(data);
if (chats.size) select_(chats.keys().next().value, false);
