// Small helpers shared by the portal pages: DOM, time, CSRF-protected JSON requests and a
// WebSocket that reconnects with backoff and sends heartbeats.

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export async function postJSON(url, body = {}) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return readJSON(response);
}

export async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  return readJSON(response);
}

async function readJSON(response) {
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (response.status === 401) { window.location.assign("/accounts/login/?next=" + encodeURIComponent(location.pathname)); }
  if (!response.ok) {
    const error = new Error(data.message || data.detail || `The server answered ${response.status}.`);
    error.status = response.status;
    error.code = data.code;
    throw error;
  }
  return data;
}

/** Create an element; `text` is always set with textContent. */
export function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  if (text !== null) node.textContent = text;
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
export function clock(iso) {
  const date = iso ? new Date(iso) : new Date();
  return Number.isNaN(date.getTime()) ? "" : timeFormat.format(date);
}

export function waitText(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

export function wsURL(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

// The reconnect schedule and heartbeat (docs/websocket-protocol.md): the server sets a
// CSR Offline after PRESENCE_GRACE_SECONDS without a sign of life, which must stay above
// HEARTBEAT_MS + ACK_TIMEOUT_MS + 2 × BACKOFF_MAX_MS, the longest a tab that gets back
// within one maximum backoff can be silent (docs/configuration.md).
export const HEARTBEAT_MS = 10000;
export const ACK_TIMEOUT_MS = 10000;
export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 10000;

/** The wait before reconnect attempt `attempt` (0, 1, …): 1 s, 2 s, 4 s, 8 s, then
 *  10 s, each ±25 % but never above BACKOFF_MAX_MS, so that many tabs do not come back
 *  at the same moment. */
export function backoffDelay(attempt) {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  return Math.min(BACKOFF_MAX_MS, Math.round(step * (0.75 + Math.random() * 0.5)));
}

/**
 * A WebSocket that reconnects after network loss or a server restart (backoffDelay),
 * sends `heartbeat` every 10 s and reconnects when no `heartbeat.ack` comes back in 10 s.
 * Close codes 4401 (log in again) and 4403/4410 (not allowed) are final.
 * onState gets "connecting", "open", "delayed" (open, but the server said `live.delayed`:
 * its live updates wait for Redis), "reconnecting" (with the delay) or "closed";
 * `live.delayed` and `live.restored` also reach onMessage.
 */
export class LiveSocket {
  constructor({ url, onOpen, onMessage, onState, onFinal }) {
    this.url = url; // a string or a function returning one (for ?last_seq=)
    this.onOpen = onOpen || (() => {});
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.onFinal = onFinal || (() => {});
    this.attempt = 0;
    this.stopped = false;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    this.onState("connecting");
    const url = typeof this.url === "function" ? this.url() : this.url;
    const ws = (this.ws = new WebSocket(wsURL(url)));
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.delayed = false;
      this.onState("open");
      this.onOpen();
      this.beat = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    });
    ws.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (!data || typeof data.type !== "string") return;
      if (data.type === "heartbeat.ack") { clearTimeout(this.ackTimer); this.ackTimer = null; return; }
      if (data.type === "live.delayed" || data.type === "live.restored") {
        this.delayed = data.type === "live.delayed";
        this.onState(this.delayed ? "delayed" : "open");
      }
      this.onMessage(data);
    });
    ws.addEventListener("close", (event) => {
      clearInterval(this.beat);
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
      if (this.ws !== ws) return;
      if (event.code === 4401) {
        this.stopped = true;
        this.onFinal(event.code);
        window.location.assign("/accounts/login/?next=" + encodeURIComponent(location.pathname));
        return;
      }
      if (event.code === 4403 || event.code === 4410) {
        this.stopped = true;
        this.onState("closed");
        this.onFinal(event.code);
        return;
      }
      if (this.stopped) { this.onState("closed"); return; }
      const delay = backoffDelay(this.attempt);
      this.attempt += 1;
      this.onState("reconnecting", delay);
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }

  heartbeat() {
    if (!this.send({ type: "heartbeat" })) return;
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => { this.ackTimer = null; try { this.ws.close(); } catch (e) { /* closed */ } }, ACK_TIMEOUT_MS);
  }

  get isOpen() { return this.ws && this.ws.readyState === WebSocket.OPEN; }

  send(data) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(data));
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.beat);
    clearTimeout(this.ackTimer);
    if (this.ws) this.ws.close(1000);
  }
}

/** Make a role="menu" keyboard operable: arrows, Home/End, Escape, Tab closes. */
export function wireMenu(button, menu, onChoose) {
  const items = () => [...menu.querySelectorAll('[role="menuitem"]')];
  const open = (focusLast = false) => {
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    const list = items();
    (focusLast ? list[list.length - 1] : list[0]).focus();
  };
  const close = (returnFocus = true) => {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (returnFocus) button.focus();
  };
  button.addEventListener("click", () => (menu.hidden ? open() : close()));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); }
    if (event.key === "ArrowUp") { event.preventDefault(); open(true); }
  });
  menu.addEventListener("keydown", (event) => {
    const list = items();
    const index = list.indexOf(document.activeElement);
    if (event.key === "ArrowDown") { event.preventDefault(); list[(index + 1) % list.length].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); list[(index - 1 + list.length) % list.length].focus(); }
    else if (event.key === "Home") { event.preventDefault(); list[0].focus(); }
    else if (event.key === "End") { event.preventDefault(); list[list.length - 1].focus(); }
    else if (event.key === "Escape") { event.preventDefault(); close(); }
    else if (event.key === "Tab") { close(false); }
  });
  menu.addEventListener("click", (event) => {
    const item = event.target.closest('[role="menuitem"]');
    if (!item || item.getAttribute("aria-disabled") === "true") return;
    close(false);
    onChoose(item.dataset.menu, item);
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !button.contains(event.target)) close(false);
  });
  return { open, close };
}

/** A two-tone beep through WebAudio: no audio file needed. Silently skipped if blocked. */
let audio = null;
export function beep() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
    const now = audio.currentTime;
    [[880, 0], [660, 0.22]].forEach(([frequency, start]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + start);
      gain.gain.exponentialRampToValueAtTime(0.2, now + start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + start + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + start);
      osc.stop(now + start + 0.2);
    });
  } catch (e) { /* no sound available */ }
}
