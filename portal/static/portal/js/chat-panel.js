// The chat panel (interaction window): the five numbered elements of the reference page
// — (1) authenticated-customer icon, (2) sentiment, (3) Transcripts, (4) Context,
// (5) Actions — and the live conversation over /ws/chat/<id>/ with the documented
// resume protocol (replay, replay.done, gaps → resume, resync.required → rebuild).
// Every text from the server or the customer is set with textContent, never as HTML.

import { LiveSocket, el, clock, wireMenu, getJSON, postJSON } from "./util.js";
import { renderSentiment, wireSentiment } from "./sentiment.js";
import { wireAttachments } from "./attachments.js";
import { wireSideTabs } from "./side-tabs.js";
import { wireAssist } from "./assist.js";
import { wireAddTask } from "./add-task.js";
import { wireCobrowse } from "../../cobrowse/panel.js";
import { wireCases } from "../../cases/panel.js";
import { wireNotes } from "./notes.js";
import { wireHistory } from "./history.js";
import { wireTypingPreview } from "./typing-preview.js";
import { wireCsatRating } from "./csat-rating.js";

const MAX_LENGTH = 5000;
const COUNTER_FROM = 4500;
const TYPING_SHOW_MS = 6000;
// The labels of the interaction's statuses (chat.models.InteractionStatus).
const STATUS_LABELS = { queued: "Queued", offered: "Offered", active: "Active", ended: "Ended", abandoned: "Abandoned" };
// System messages after which the header (queue, status, who has the chat) is read again.
const HEADER_EVENTS = new Set(["joined", "transferred", "requeued"]);

// Sends not yet acknowledged survive a reload of the tab: they are kept in
// sessionStorage and sent again, with the same client_msg_id, after the replay (the
// server stores a retried send once).
const PENDING_KEY = (id) => `portal.pending.${id}`;

function loadPending(interactionId) {
  try {
    const items = JSON.parse(sessionStorage.getItem(PENDING_KEY(interactionId)) || "[]");
    return new Map(items.filter((item) => item && item.id && typeof item.text === "string").map((item) => [item.id, item]));
  } catch (error) {
    return new Map();
  }
}

/** What a CSR who lost a chat is told, from chat.revoked's reason ("transferred to Blake
 *  Chen", "connection lost"). */
export function revokedText(reason) {
  if (reason === "connection lost") return "This chat went back to its queue because your connection was lost.";
  return `This chat was ${reason}.`;
}

function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

export class ChatPanel {
  /**
   * @param root   the panel's <section data-panel> (server-rendered or cloned from the template)
   * @param data   the panel data (portal.selectors.interaction_panel)
   * @param hooks  {isVisible(), onUnread(n), onStatus(status), onRevoked(reason), toast(text)}
   */
  constructor(root, data, hooks = {}) {
    this.root = root;
    this.data = data;
    this.id = data.id;
    this.hooks = hooks;
    this.lastSeq = 0;
    this.seen = new Map(); // seq → <li>
    this.pending = new Map(); // client_msg_id → {li, text, acked, at}
    this.restored = data.mode === "live" ? loadPending(this.id) : new Map(); // from before a reload
    this.unread = 0;
    this.readSent = data.csr_read_seq || 0;
    this.customerReadSeq = data.customer_read_seq || 0;
    this.status = data.status;
    this.role = data.mode === "live" ? "csr" : "observer";
    this.typingSentAt = 0;
    this.f = (name) => root.querySelector(`[data-field="${name}"]`);
    this.log = this.f("log");
    this.botLog = this.f("bot-log");
    this.fill(data);
    this.wire();
    if (data.mode === "read_only") {
      // Server-rendered history: show its times in the browser's time zone.
      root.querySelectorAll("time[datetime]").forEach((node) => { node.textContent = clock(node.getAttribute("datetime")); });
      this.lastSeq = data.last_seq;
      this.scrollToEnd(true);
    } else {
      this.connect();
    }
  }

  // --- Static parts -------------------------------------------------------------------

  fill(data) {
    const set = (name, text) => { const node = this.f(name); if (node) node.textContent = text; };
    set("customer-name", data.customer.name);
    set("channel", data.channel.name);
    set("queue", data.queue);
    set("intent", data.intent || "No intent given");
    this.setStatus(data.status, data.status_label);
    this.setAuthenticated(data.customer.authenticated);
    renderSentiment(this.root, data.sentiment, { enabled: data.sentiment_enabled !== false });
    this.fillPairs(this.f("metadata"), data.customer.metadata, "No details");
    this.fillPairs(this.f("context"), data.context, "None sent by the bot");
    this.setMenuReason("cobrowse", data.actions.cobrowse);
    this.updateDownloadAction(data.actions.download_transcripts);
    this.applyMode();
  }

  fillPairs(dl, items, emptyText) {
    dl.replaceChildren();
    if (!items.length) { dl.append(el("dd", { class: "muted" }, emptyText)); return; }
    for (const item of items) dl.append(el("dt", {}, item.key), el("dd", {}, item.value));
  }

  applyMode() {
    const live = this.data.mode === "live" && this.role === "csr" && this.status !== "ended" && this.status !== "abandoned";
    // A manager watching an open chat may add internal notes, nothing else (notes.js).
    const notesOnly = !live && this.data.mode === "observer" && this.role === "observer" && this.status !== "ended" && this.status !== "abandoned";
    this.f("composer").hidden = !live && !notesOnly;
    if (this.setNotesOnly) this.setNotesOnly(notesOnly);
    const note = this.f("readonly-note");
    note.hidden = live;
    if (!live) {
      note.textContent = this.status === "ended" || this.status === "abandoned"
        ? "This interaction has ended. You are viewing it read-only."
        : "You are watching this chat read-only.";
    }
    const why = this.status === "ended" || this.status === "abandoned" ? "This chat has ended" : "Read-only: you are not handling this chat";
    for (const name of ["transfer", "end"]) {
      const item = this.root.querySelector(`[data-menu="${name}"]`);
      if (live) { item.removeAttribute("aria-disabled"); item.removeAttribute("title"); }
      else { item.setAttribute("aria-disabled", "true"); item.title = why; }
    }
    this.updateAuthAction();
  }

  /** Actions → Request authentication: only for the CSR handling an active chat whose
   * customer is not authenticated yet, on a channel that allows it; else the reason. */
  updateAuthAction() {
    const item = this.root.querySelector('[data-menu="authenticate"]');
    const ended = this.status === "ended" || this.status === "abandoned";
    let why = "";
    if (ended) why = "This chat has ended";
    else if (this.data.mode !== "live" || this.role !== "csr") why = "You are watching this chat read-only";
    else if (this.status !== "active") why = "The chat is not active";
    else if (this.authenticated) why = "The customer is already authenticated";
    else why = this.data.channel.auth_request_reason || "";
    const note = this.f("why-auth");
    note.textContent = why;
    note.hidden = !why;
    if (why) { item.setAttribute("aria-disabled", "true"); item.title = why; }
    else { item.removeAttribute("aria-disabled"); item.removeAttribute("title"); }
  }

  async requestAuthentication() {
    try {
      // The system message comes back over the socket, like every message.
      await postJSON(`/portal-api/interactions/${this.id}/request-authentication/`);
    } catch (e) {
      this.toast(e.message);
    }
  }

  /** An Actions item (data-menu=`name`) enabled, or disabled with `why` shown under it
   *  (its <span class="menu__why">). Feature modules use it as their state changes. */
  setMenuReason(name, why) {
    const item = this.root.querySelector(`[data-menu="${name}"]`);
    if (!item) return;
    const note = item.querySelector(".menu__why");
    if (note) { note.textContent = why || ""; note.hidden = !why; }
    if (why) { item.setAttribute("aria-disabled", "true"); item.title = why; }
    else { item.removeAttribute("aria-disabled"); item.removeAttribute("title"); }
  }

  /** Actions → Download transcripts: enabled unless the server gives a reason. */
  updateDownloadAction(why) {
    const item = this.root.querySelector('[data-menu="download"]');
    const note = this.f("why-download");
    note.textContent = why || "";
    note.hidden = !why;
    if (why) { item.setAttribute("aria-disabled", "true"); item.title = why; }
    else { item.removeAttribute("aria-disabled"); item.removeAttribute("title"); }
  }

  /** Save ChatTranscript.txt through a plain link to the attachment: the browser shows
   * its own download (or "Opening ChatTranscript.txt") prompt and the chat stays open. */
  downloadTranscript() {
    const link = el("a", { href: this.data.transcript_url, download: "ChatTranscript.txt", hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
  }

  setStatus(status, label) {
    this.status = status;
    const pill = this.f("status");
    pill.textContent = label || STATUS_LABELS[status] || status.charAt(0).toUpperCase() + status.slice(1);
    pill.className = `pill pill--${status}`;
  }

  /** The header follows the interaction: after a status change, a transfer, a CSR
   *  joining or the chat going back to a queue (and after this CSR lost the chat), read
   *  the panel again for its queue, status, who has it and the customer's details
   *  (a verified identity after authentication). The newest answer wins. */
  async refreshHeader() {
    const request = (this.headerRequest = (this.headerRequest || 0) + 1);
    let data;
    try {
      data = await getJSON(`/portal-api/interactions/${this.id}/panel/`);
    } catch (error) {
      return; // the status pill and the system messages already say what happened
    }
    if (request !== this.headerRequest) return;
    const queue = this.f("queue");
    if (queue) queue.textContent = data.queue;
    this.fillPairs(this.f("metadata"), data.customer.metadata, "No details");
    if (this.isRevoked) {
      this.setStatus(data.status, data.status_label);
      this.modeNote(data.assigned_csr && data.status === "active" ? `Read-only · ${data.assigned_csr} has it now` : "Read-only");
    } else if (data.mode === "live" || data.mode === this.data.mode) {
      this.setStatus(data.status, data.status_label);
    }
  }

  modeNote(text) {
    const node = this.f("mode-note");
    if (node) node.textContent = text;
  }

  setAuthenticated(yes) {
    this.authenticated = Boolean(yes);
    this.f("auth").hidden = !yes;
    this.updateAuthAction();
  }

  // --- Controls -------------------------------------------------------------------------

  wire() {
    const root = this.root;
    const transcripts = root.querySelector('[data-dialog="transcripts"]');
    root.querySelector('[data-action="transcripts"]').addEventListener("click", () => transcripts.showModal());
    root.querySelectorAll("dialog [data-close]").forEach((button) =>
      button.addEventListener("click", () => button.closest("dialog").close()));
    const contextButton = root.querySelector('[data-action="context"]');
    contextButton.addEventListener("click", () => {
      const pane = this.f("context-pane");
      pane.hidden = !pane.hidden;
      contextButton.setAttribute("aria-expanded", String(!pane.hidden));
    });
    wireMenu(root.querySelector('[data-action="actions"]'), root.querySelector('[role="menu"]'), (choice) => {
      if (choice === "transfer") this.openTransfer();
      if (choice === "end") root.querySelector('[data-dialog="end"]').showModal();
      if (choice === "authenticate") this.requestAuthentication();
      if (choice === "download") this.downloadTranscript();
      // A feature's action: its module listens for "addtask", as for the Add task menu.
      if (choice === "cobrowse") root.dispatchEvent(new CustomEvent("addtask", { detail: { kind: "cobrowse", key: "cobrowse", interactionId: this.id, via: "actions" } }));
    });
    this.f("end-confirm").addEventListener("click", () => {
      root.querySelector('[data-dialog="end"]').close();
      if (!this.socket || !this.socket.send({ type: "end" })) this.toast("Not connected: try again in a moment.");
    });
    this.wireTransfer();
    this.wireComposer();
    wireSentiment(root);
    wireAttachments(this);
    wireSideTabs(root);
    wireAssist(this);
    wireAddTask(this);
    wireCobrowse(this);
    wireCases(this);
    wireNotes(this);
    wireHistory(this);
    wireTypingPreview(this);
    wireCsatRating(this);
  }

  wireComposer() {
    const form = this.f("composer");
    const box = form.querySelector("textarea");
    const counter = this.f("counter");
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    box.addEventListener("input", () => {
      const length = box.value.length;
      counter.textContent = length >= COUNTER_FROM ? `${length.toLocaleString("en")} / ${MAX_LENGTH.toLocaleString("en")}` : "";
      counter.toggleAttribute("data-over", length > MAX_LENGTH);
      // An internal note is no business of the customer's: no "is typing" for it.
      this.typing(!this.noteMode && box.value.length > 0);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = box.value;
      if (text.length > MAX_LENGTH) { this.toast(`A message can be at most ${MAX_LENGTH.toLocaleString("en")} characters.`); return; }
      const note = Boolean(this.noteMode); // notes carry no files (portal/js/notes.js)
      const files = note ? [] : this.takeFiles ? this.takeFiles() : [];
      if (files === null || (!text.trim() && !files.length)) return; // uploads still going: said
      box.value = "";
      counter.textContent = "";
      this.typing(false);
      this.sendText(text, files, { note });
      box.focus();
    });
  }

  typing(active) {
    if (!this.socket) return;
    clearTimeout(this.typingStop);
    if (active) {
      if (Date.now() - this.typingSentAt > 3000) {
        this.typingSentAt = Date.now();
        this.socket.send({ type: "typing", active: true });
      }
      this.typingStop = setTimeout(() => this.typing(false), 4000);
    } else if (this.typingSentAt) {
      this.typingSentAt = 0;
      this.socket.send({ type: "typing", active: false });
    }
  }

  sendText(text, files = [], { note = false } = {}) {
    const id = newClientId();
    const li = this.renderMessage({ sender_kind: "csr", author_name: "You", text, attachments: files, created_at: new Date().toISOString(), client_msg_id: id, internal: note, event: note ? "note" : "" }, { pending: true });
    this.log.append(li);
    this.pending.set(id, { li, text, files, note, acked: false, at: new Date().toISOString() });
    this.savePending();
    this.transmit(id);
    this.scrollToEnd(true);
  }

  savePending() {
    const items = [...this.restored.values()];
    for (const [id, item] of this.pending) if (!item.acked) items.push({ id, text: item.text, files: item.files, note: item.note, at: item.at });
    try {
      if (items.length) sessionStorage.setItem(PENDING_KEY(this.id), JSON.stringify(items));
      else sessionStorage.removeItem(PENDING_KEY(this.id));
    } catch (error) {
      // Storage full or blocked: the sends still go out, they just don't survive a reload.
    }
  }

  /** After the first replay: what was still "Sending…" before a reload and did not come
   *  back in the replay is shown again and re-sent with its own client_msg_id. */
  restorePending() {
    if (!this.restored.size) return;
    for (const [id, item] of this.restored) {
      const li = this.renderMessage({ sender_kind: "csr", author_name: "You", text: item.text, attachments: item.files, created_at: item.at || new Date().toISOString(), client_msg_id: id, internal: Boolean(item.note), event: item.note ? "note" : "" }, { pending: true });
      this.log.append(li);
      this.pending.set(id, { li, text: item.text, files: item.files || [], note: Boolean(item.note), acked: false, at: item.at });
    }
    this.restored.clear();
    this.savePending();
  }

  transmit(id) {
    const item = this.pending.get(id);
    const frame = { type: item.note ? "note" : "send", client_msg_id: id, text: item.text };
    if (item.files && item.files.length) frame.attachment_ids = item.files.map((file) => file.id);
    const sent = this.socket && this.socket.send(frame);
    this.setDelivery(item.li, sent ? "sending" : "waiting");
  }

  // --- Transfer -------------------------------------------------------------------------

  wireTransfer() {
    const dialog = this.root.querySelector('[data-dialog="transfer"]');
    const form = this.f("transfer-form");
    const search = this.f("transfer-search");
    form.addEventListener("change", (event) => {
      if (event.target.name !== "kind") return;
      const toQueue = event.target.value === "queue";
      this.f("transfer-csr").hidden = toQueue;
      this.f("transfer-queue").hidden = !toQueue;
    });
    search.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.loadTargets(search.value), 250);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = this.f("transfer-error");
      error.hidden = true;
      const kind = form.querySelector('input[name="kind"]:checked').value;
      const body = { note: this.f("transfer-note").value };
      if (kind === "csr") {
        const picked = form.querySelector('input[name="target"]:checked');
        if (!picked) { error.textContent = "Choose a CSR, or transfer to a queue."; error.hidden = false; return; }
        body.csr = Number(picked.value);
      } else {
        body.queue = this.f("transfer-queues").value;
      }
      try {
        await postJSON(`/api/v1/interactions/${this.id}/transfer/`, body);
        dialog.close();
        this.toast("Transfer requested. You keep the chat until the next CSR accepts it.");
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    });
  }

  async openTransfer() {
    const dialog = this.root.querySelector('[data-dialog="transfer"]');
    this.f("transfer-error").hidden = true;
    this.f("transfer-note").value = "";
    this.f("transfer-search").value = "";
    dialog.showModal();
    await this.loadTargets("");
  }

  async loadTargets(q) {
    const list = this.f("transfer-csrs");
    const request = (this.targetsRequest = (this.targetsRequest || 0) + 1);
    let data;
    try {
      data = await getJSON(`/api/v1/interactions/${this.id}/transfer-targets/?q=${encodeURIComponent(q.trim())}`);
    } catch (e) {
      if (request === this.targetsRequest) list.replaceChildren(el("p", { class: "empty" }, e.message));
      return;
    }
    if (request !== this.targetsRequest) return; // a later search answered (or will) instead
    list.replaceChildren();
    for (const csr of data.csrs) {
      const label = el("label");
      label.append(el("input", { type: "radio", name: "target", value: String(csr.id) }), el("span", {}, csr.name),
        el("span", { class: "muted" }, `${csr.active_chats} of ${csr.capacity} chats`));
      list.append(label);
    }
    if (!data.csrs.length) list.append(el("p", { class: "empty" }, q ? "No available CSR matches." : "No CSR can take a chat right now."));
    const select = this.f("transfer-queues");
    if (!select.options.length) {
      for (const queue of data.queues) {
        select.append(el("option", { value: queue.slug }, `${queue.name} — ${queue.waiting} waiting, ${queue.csrs_available} available`));
      }
    }
  }

  // --- Live conversation ------------------------------------------------------------------

  connect() {
    this.socket = new LiveSocket({
      url: () => `/ws/chat/${this.id}/?last_seq=${this.lastSeq}`,
      onMessage: (frame) => this.handle(frame),
      onState: (state) => {
        this.root.dataset.connection = state;
        if (state !== "delayed") this.liveNote("");
      },
      onFinal: (code) => { if (code === 4403) this.revoked("You no longer handle this chat."); },
    });
  }

  /** Send a frame on the chat socket (feature modules use it instead of a socket of their
   *  own); false when not connected. */
  send(frame) {
    return Boolean(this.socket && this.socket.send(frame));
  }

  handle(frame) {
    // Feature modules (side tabs) follow the chat through this event, not a second socket.
    this.root.dispatchEvent(new CustomEvent("chatframe", { detail: frame }));
    switch (frame.type) {
      case "hello":
        this.role = frame.role;
        this.customerReadSeq = Math.max(this.customerReadSeq, frame.interaction.customer_read_seq || 0);
        this.setStatus(frame.interaction.status);
        this.setAuthenticated(frame.interaction.authenticated);
        this.applyMode();
        // A chat that ended before this socket subscribed sends no status event: the
        // hello is the only word of it.
        if (this.hooks.onStatus) this.hooks.onStatus(frame.interaction.status);
        break;
      case "resync.required":
        this.reset();
        break;
      case "message":
        this.receive(frame);
        break;
      case "replay.done":
        this.resuming = false;
        this.replayed = true;
        this.restorePending();
        for (const [id, item] of this.pending) if (!item.acked) this.transmit(id);
        this.scrollToEnd(true);
        this.markRead();
        break;
      case "ack": {
        const item = this.pending.get(frame.client_msg_id);
        if (item) { item.acked = true; this.setDelivery(item.li, "sent"); this.savePending(); }
        break;
      }
      case "sentiment":
        renderSentiment(this.root, frame);
        break;
      case "typing":
        this.showTyping(frame);
        break;
      case "read":
        if (frame.by === "customer") { this.customerReadSeq = Math.max(this.customerReadSeq, frame.seq); this.refreshReceipts(); }
        break;
      case "interaction.status":
        this.setStatus(frame.status);
        this.refreshHeader();
        this.setAuthenticated(frame.authenticated);
        this.applyMode();
        if (this.hooks.onStatus) this.hooks.onStatus(frame.status);
        break;
      case "chat.revoked":
        this.revoked(revokedText(frame.reason));
        break;
      case "live.delayed":
        this.liveNote("Live updates are delayed: messages are saved and appear as soon as the server has reconnected.");
        break;
      case "live.restored":
        this.liveNote("Live updates are back.", 5000);
        break;
      case "error":
        this.error(frame);
        break;
      default:
        break;
    }
  }

  /** The status line under the conversation: `text` (empty hides it), for `hideAfterMs`. */
  liveNote(text, hideAfterMs = 0) {
    const node = this.f("live-note");
    if (!node) return;
    clearTimeout(this.liveNoteTimer);
    node.textContent = text;
    node.hidden = !text;
    if (text && hideAfterMs) this.liveNoteTimer = setTimeout(() => this.liveNote(""), hideAfterMs);
  }

  reset() {
    this.resuming = false;
    this.log.replaceChildren();
    this.botLog.replaceChildren();
    this.seen.clear();
    this.lastSeq = 0;
    this.dividers = {};
  }

  receive(message) {
    if (message.seq <= this.lastSeq) return;
    if (message.seq > this.lastSeq + 1) {
      // A gap: ask once for what is missing; the replay brings this message too.
      if (!this.resuming) this.resuming = this.socket.send({ type: "resume", last_seq: this.lastSeq });
      return;
    }
    this.lastSeq = message.seq;
    const nearEnd = this.isNearEnd();
    const mine = message.client_msg_id && this.pending.get(message.client_msg_id);
    const li = this.renderMessage(message);
    if (message.client_msg_id && this.restored.delete(message.client_msg_id)) this.savePending();
    if (mine) {
      mine.li.replaceWith(li);
      this.pending.delete(message.client_msg_id);
      this.savePending();
    } else {
      this.placeDivider(message);
      this.log.append(li);
    }
    this.seen.set(message.seq, li);
    if (message.pre_escalation) {
      this.botLog.append(this.renderMessage(message));
      this.f("bot-empty").hidden = true;
    }
    if (message.sender_kind === "customer") this.typingHide();
    if (this.replayed && message.sender_kind === "system" && HEADER_EVENTS.has(message.event)) this.refreshHeader();
    if (this.isVisible()) {
      this.scrollToEnd(nearEnd);
      this.markRead();
    } else if (message.sender_kind === "customer" && !message.pre_escalation && message.seq > this.readSent) {
      this.unread += 1;
      if (this.hooks.onUnread) this.hooks.onUnread(this.unread);
    }
  }

  placeDivider(message) {
    this.dividers = this.dividers || {};
    if (message.pre_escalation && !this.dividers.bot) {
      this.dividers.bot = true;
      this.log.append(el("li", { class: "log__divider" }, "Bot conversation before escalation"));
    } else if (!message.pre_escalation && this.dividers.bot && !this.dividers.live) {
      this.dividers.live = true;
      this.log.append(el("li", { class: "log__divider" }, "Live chat"));
    }
  }

  renderMessage(m, { pending = false } = {}) {
    const kinds = ["customer", "csr", "bot", "system"];
    const kind = kinds.includes(m.sender_kind) ? m.sender_kind : "system";
    const li = el("li", { class: `msg msg--${kind}${m.pre_escalation ? " msg--pre" : ""}${m.event ? ` msg--event-${m.event}` : ""}${m.internal ? " msg--internal" : ""}` });
    if (m.seq) li.dataset.seq = String(m.seq);
    const time = el("time", { datetime: m.created_at || "" }, clock(m.created_at));
    if (kind === "system") {
      li.append(el("p", { class: "msg__text" }, m.text));
      const meta = el("p", { class: "msg__meta" });
      meta.append(time);
      li.append(meta);
      return li;
    }
    const author = kind === "customer" ? this.data.customer.name : kind === "bot" ? "Bot" : m.author_name || "CSR";
    const meta = el("p", { class: "msg__meta" });
    meta.append(el("span", { class: "msg__author" }, author), time);
    if (m.internal) {
      // A whisper or internal note: never shown to the customer (said in words, not colour).
      const label = m.event === "whisper" ? "Whisper from your manager · not shown to the customer"
        : m.event === "note" ? "Internal note · the customer does not see this" : "Internal · not shown to the customer";
      meta.append(el("span", { class: "msg__internal" }, label));
      if (pending) {
        // One's own note on its way: its state, as for a message.
        meta.append(el("span", { class: "msg__state" }, "Sending…"));
        li.dataset.delivery = "sending";
      }
    } else if (kind === "csr") {
      const state = el("span", { class: "msg__state" });
      meta.append(state);
      li.dataset.delivery = pending ? "sending" : this.customerReadSeq >= m.seq ? "read" : "sent";
      state.textContent = { sending: "Sending…", sent: "Sent", read: "Read" }[li.dataset.delivery];
    }
    li.append(meta);
    if (m.text || !(m.attachments && m.attachments.length)) li.append(el("p", { class: "msg__text" }, m.text));
    if (m.attachments && m.attachments.length && this.renderFiles) li.append(this.renderFiles(m.attachments));
    return li;
  }

  setDelivery(li, state) {
    li.dataset.delivery = state;
    li.classList.toggle("msg--pending", state === "sending" || state === "waiting");
    li.classList.toggle("msg--failed", state === "failed");
    const label = { sending: "Sending…", waiting: "Waiting for connection…", sent: "Sent", read: "Read", failed: "Not sent" }[state];
    const node = li.querySelector(".msg__state");
    if (node && label) node.textContent = label;
  }

  refreshReceipts() {
    for (const [seq, li] of this.seen) {
      if (li.dataset.delivery === "sent" && seq <= this.customerReadSeq) this.setDelivery(li, "read");
    }
  }

  error(frame) {
    const item = frame.client_msg_id && this.pending.get(frame.client_msg_id);
    if (item) {
      this.pending.delete(frame.client_msg_id);
      this.savePending();
      this.setDelivery(item.li, "failed");
      item.li.querySelector(".msg__state").textContent = `Not sent: ${frame.message}`;
      return;
    }
    this.toast(frame.message || "Something went wrong.");
  }

  showTyping(frame) {
    if (!frame.active) { this.typingHide(); return; }
    const who = frame.from === "customer" ? this.data.customer.name : frame.name || "The CSR";
    this.f("typing").textContent = `${who} is typing…`;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.typingHide(), TYPING_SHOW_MS);
  }

  typingHide() {
    clearTimeout(this.typingTimer);
    this.f("typing").textContent = "";
  }

  revoked(text) {
    // Told by the agent socket, the chat socket and its 4403 close: say it once.
    if (this.isRevoked) return;
    this.isRevoked = true;
    if (this.socket) this.socket.stop();
    this.data.mode = "read_only";
    this.applyMode();
    this.f("readonly-note").textContent = text;
    this.modeNote("Read-only");
    // The socket is closed now: the header is brought up to date once, from the server.
    this.refreshHeader();
    if (this.hooks.onRevoked) this.hooks.onRevoked(text);
  }

  // --- Visibility and read marks --------------------------------------------------------

  isVisible() {
    const visible = this.hooks.isVisible ? this.hooks.isVisible() : true;
    return visible && document.visibilityState === "visible";
  }

  shown() {
    this.unread = 0;
    if (this.hooks.onUnread) this.hooks.onUnread(0);
    this.scrollToEnd(true);
    this.markRead();
  }

  markRead() {
    if (this.role !== "csr" || !this.socket || this.lastSeq <= this.readSent || !this.isVisible()) return;
    if (this.socket.send({ type: "read", seq: this.lastSeq })) this.readSent = this.lastSeq;
  }

  isNearEnd() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  scrollToEnd(force) {
    if (force) this.log.scrollTop = this.log.scrollHeight;
  }

  toast(text) {
    if (this.hooks.toast) this.hooks.toast(text);
    else this.f("readonly-note").textContent = text;
  }

  destroy() {
    // Feature modules end what belongs to this panel (co-browse ends with it).
    this.root.dispatchEvent(new CustomEvent("chatpanel:destroy"));
    clearTimeout(this.liveNoteTimer);
    if (this.socket) this.socket.stop();
  }
}
