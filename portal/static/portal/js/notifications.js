// My Work's notification centre: one list (#notify-list) where every event that wants the
// CSR's attention lands exactly once — a new offer, a transfer to them, a customer message
// in a chat that is not in front, a manager's whisper — with a sound (the CSR's setting,
// saved on the server), the unseen count in the tab title, and the browser's desktop
// notification while the page is hidden (only after the CSR turned them on).
//
// Each event has a key (offer id; interaction id + message seq). A key is notified once:
// the keys already notified are kept in localStorage per user, so a reconnect's replay, a
// reload, or a second My Work tab of the same CSR never notifies an event again.
// The CSR's other portal pages (presence.js) announce offers through announce(): the same
// keys, sound and desktop notices, without the list.

import { el, postJSON } from "./util.js";

const KEEP_KEYS = 500; // notified keys remembered (oldest forgotten first)
const KEEP_ITEMS = 30; // items shown in the list

const $ = (id) => document.getElementById(id);
// The file itself, for pages whose template does not name it (Django's static storage
// keeps the unhashed name served as well).
const DEFAULT_SOUND_URL = new URL("../sounds/notify.wav", import.meta.url).href;
const DEFAULT_ICON_URL = new URL("../favicon.svg", import.meta.url).href;
const state = {
  userId: 0,
  sound: { enabled: true, volume: 80 },
  counter: null, // the element whose data-sound-plays counts the sounds played
  soundUrl: DEFAULT_SOUND_URL,
  iconUrl: DEFAULT_ICON_URL,
  items: [], // {key, scope, li, unseen}
  isFront: () => false, // (interaction id) → is that chat the one on screen
  onOpen: () => {}, // (interaction id) → bring that chat to the front
  onChange: () => {}, // the unseen count changed
  audio: null,
};

// --- Keys notified, shared by this CSR's tabs --------------------------------------------

const storeKey = () => `portal.notified.${state.userId}`;
function notifiedKeys() {
  try {
    const keys = JSON.parse(localStorage.getItem(storeKey()) || "[]");
    return Array.isArray(keys) ? keys : [];
  } catch (error) {
    return [];
  }
}
const memoryKeys = new Set(); // when storage is blocked, this tab at least notifies once

/** Claim `key`: true the first time for this CSR, false ever after. */
function claimHere(key) {
  if (memoryKeys.has(key)) return false;
  memoryKeys.add(key);
  const keys = notifiedKeys();
  if (keys.includes(key)) return false;
  keys.push(key);
  try {
    localStorage.setItem(storeKey(), JSON.stringify(keys.slice(-KEEP_KEYS)));
  } catch (error) {
    // Storage full or blocked: this tab still notifies each key once (memoryKeys).
  }
  return true;
}

/** claimHere() for the first of the CSR's tabs to ask. localStorage alone cannot decide
 *  it: Chromium passes one tab's writes to the others' copies asynchronously, so two tabs
 *  given the same event at once could both read it unclaimed. The first tab to get the
 *  key's Web Lock (granted by the browser, one holder for all tabs) claims it and holds
 *  the lock while its write reaches the others; a tab that finds the lock held drops the
 *  event. Later duplicates (a reload, a replay) find the key in localStorage. */
const CLAIM_HOLD_MS = 10000;
function claim(key) {
  if (!navigator.locks) return Promise.resolve(claimHere(key));
  return new Promise((resolve) => {
    navigator.locks
      .request(`portal.notify.${state.userId}.${key}`, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(claimHere(key));
        return new Promise((release) => setTimeout(release, CLAIM_HOLD_MS));
      })
      .catch(() => resolve(claimHere(key)));
  });
}

// --- Sound ---------------------------------------------------------------------------------

/** Play the notification sound at the CSR's volume; `test`: the Test sound button (plays
 *  even while the sound is off, so the CSR can choose). Each play is counted in the
 *  counter element's data-sound-plays (the browser tests read it). */
export function playSound({ test = false } = {}) {
  if (!state.sound.enabled && !test) return;
  if (state.counter) state.counter.dataset.soundPlays = String(Number(state.counter.dataset.soundPlays || 0) + 1);
  const blocked = $("notify-sound-blocked");
  try {
    state.audio = state.audio || new Audio(state.soundUrl);
    state.audio.volume = Math.min(1, Math.max(0, state.sound.volume / 100));
    state.audio.currentTime = 0;
    const playing = state.audio.play();
    if (playing) {
      playing.then(() => { if (blocked) blocked.hidden = true; }).catch(() => {
        // The browser allows sound only after the CSR has used the page (a click, a key).
        if (blocked) blocked.hidden = false;
      });
    }
  } catch (error) {
    // No audio output: the list and the title still say it.
  }
}

// --- The list and the count ------------------------------------------------------------------

export function unseenCount() {
  return state.items.filter((item) => item.unseen).length;
}

function render() {
  const count = unseenCount();
  const badge = $("notify-count");
  badge.textContent = count ? `${count} new` : "";
  badge.hidden = !count;
  $("notify-seen").disabled = !count;
  $("notify-empty").hidden = state.items.length > 0;
  state.onChange(count);
}

function markSeen(item) {
  if (!item.unseen) return;
  item.unseen = false;
  item.li.removeAttribute("data-unseen");
  item.li.querySelector(".notify-item__new")?.remove();
}

/** The CSR has seen what `scope` is about (a chat now on screen, an offer answered). */
export function seen(scope) {
  let changed = false;
  for (const item of state.items) if (item.scope === scope && item.unseen) { markSeen(item); changed = true; }
  if (changed) render();
}

function desktop(key, title, body, interactionId) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    // `tag`: the system shows one notice per event even if two tabs raced for it.
    const notice = new Notification(title, { body, tag: key, icon: state.iconUrl });
    notice.addEventListener("click", () => {
      window.focus();
      if (interactionId) state.onOpen(interactionId);
      notice.close();
    });
  } catch (error) {
    // Some browsers allow notices only from a service worker: the page still says it.
  }
}

/**
 * Notify once per `key`: an item in the list, the sound, the count, a desktop notice while
 * the page is hidden. `scope` groups items the CSR sees together ("chat:12", "offer:7");
 * `seenNow`: the CSR is looking at it already (counted as seen, still listed).
 */
export async function notify({ key, kind, scope, title, body = "", interactionId = null, seenNow = false }) {
  if (!(await claim(key))) return false;
  const list = $("notify-list");
  const li = el("li", { class: `notify-item notify-item--${kind}`, dataset: { key, kind } });
  const text = el("p", { class: "notify-item__text" });
  text.append(el("strong", {}, title));
  if (body) text.append(" ", el("span", {}, body));
  const time = el("time", { class: "notify-item__time", datetime: new Date().toISOString() },
    new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  li.append(text, time);
  if (interactionId) {
    const open = el("button", { type: "button", class: "btn btn--ghost btn--small" }, "Open chat");
    open.addEventListener("click", () => state.onOpen(interactionId));
    li.append(open);
  }
  const item = { key, scope, li, unseen: !seenNow };
  if (item.unseen) {
    li.dataset.unseen = "";
    text.prepend(el("span", { class: "notify-item__new" }, "New: "));
  }
  list.prepend(li);
  state.items.unshift(item);
  for (const old of state.items.splice(KEEP_ITEMS)) old.li.remove();
  playSound();
  desktop(key, title, body, interactionId);
  render();
  return true;
}

/** The CSR's other portal pages: `key` announced once (shared with My Work's keys), with
 *  the sound and, while the page is hidden, a desktop notice. No list, no count. */
export async function announce({ key, title, body = "" }) {
  if (!(await claim(key))) return false;
  playSound();
  desktop(key, title, body, null);
  return true;
}

/** Set up announce() for a page without the notification centre. */
export function initAnnouncer({ userId, counter, sound = null }) {
  Object.assign(state, { userId, counter });
  if (sound) state.sound = sound;
}

// --- What notifies -------------------------------------------------------------------------

/** What an offer (a new chat, or a transfer to this CSR) is announced as. */
export function offerNotice(offer) {
  const transfer = Boolean(offer.transfer);
  return {
    key: `offer:${offer.offer_id}`,
    kind: transfer ? "transfer" : "offer",
    title: transfer ? `Transfer from ${offer.transferred_by || "a CSR"}` : "Incoming chat",
    body: `${offer.customer_name} · ${offer.queue}`,
  };
}

/** An offer arrived in My Work. */
export function notifyOffer(offer) {
  const notice = offerNotice(offer);
  return notify({ ...notice, scope: notice.key });
}

/** Call `handle(frame, key)` for each live message a chat panel shows: not the replay when
 *  it connects, not the bot conversation before the escalation, each message once. */
function onLiveMessage(panel, handle) {
  let highest = 0; // the newest message this panel has shown, replays included
  panel.root.addEventListener("chatframe", (event) => {
    const frame = event.detail;
    // Only the message the panel shows next (a gap's message comes again, in order, with
    // the resume); and only once: a full replay after resync.required starts at 1 again.
    if (frame.type !== "message" || frame.seq !== panel.lastSeq + 1 || frame.seq <= highest) return;
    highest = frame.seq;
    // `replayed` turns true at the panel's first replay.done: frames before it are history.
    if (!panel.replayed || frame.pre_escalation) return;
    handle(frame, `msg:${panel.id}:${frame.seq}`);
  });
}

const isWhisper = (frame) => frame.internal && frame.event === "whisper";

/** Follow a chat panel's frames: a live customer message in a chat not on screen, and a
 *  manager's whisper (always), notify. A customer message on screen is claimed without a
 *  notice, so that none of the CSR's other pages announces what they saw. */
export function watchPanel(panel, { name }) {
  onLiveMessage(panel, (frame, key) => {
    const front = state.isFront(panel.id) && document.visibilityState === "visible";
    const scope = `chat:${panel.id}`;
    if (isWhisper(frame)) {
      notify({ key, kind: "whisper", scope, title: `Whisper from ${frame.author_name || "your manager"}`,
        body: `(${name}) ${frame.text}`, interactionId: panel.id, seenNow: front });
    } else if (frame.sender_kind === "customer") {
      if (front) claim(key);
      else notify({ key, kind: "message", scope, title: `${name} wrote`, body: frame.text, interactionId: panel.id });
    }
  });
}

/** The interaction window, which has no notification centre: while the page is hidden, a
 *  live customer message or a manager's whisper in its chat is announced (the sound and a
 *  desktop notice), once across the CSR's pages; while it is seen, claimed silently. */
export function announcePanel(panel, { name }) {
  onLiveMessage(panel, (frame, key) => {
    if (!isWhisper(frame) && frame.sender_kind !== "customer") return;
    if (document.visibilityState === "visible") { claim(key); return; }
    if (isWhisper(frame)) announce({ key, title: `Whisper from ${frame.author_name || "your manager"}`, body: `(${name}) ${frame.text}` });
    else announce({ key, title: `${name} wrote`, body: frame.text });
  });
}

// --- Settings: sound, volume, test, desktop notifications ------------------------------------

async function saveSound(change) {
  const note = $("notify-saved");
  note.textContent = "Saving…";
  try {
    const saved = await postJSON("/portal-api/preferences/", change);
    state.sound = { enabled: saved.sound_enabled, volume: saved.sound_volume };
    note.textContent = "Saved.";
  } catch (error) {
    note.textContent = `Not saved: ${error.message}`;
  }
  renderSound();
}

function renderSound() {
  const toggle = $("notify-sound");
  toggle.setAttribute("aria-checked", String(state.sound.enabled));
  $("notify-sound-state").textContent = state.sound.enabled ? "On" : "Off";
  $("notify-volume").value = String(state.sound.volume);
  $("notify-centre").dataset.sound = state.sound.enabled ? "on" : "off";
}

function renderDesktop() {
  const button = $("notify-desktop");
  const note = $("notify-desktop-state");
  if (!("Notification" in window)) {
    button.hidden = true;
    note.textContent = "This browser cannot show desktop notifications.";
    return;
  }
  const permission = Notification.permission;
  // Asked once: after the CSR's answer the button goes; the browser's settings change it.
  button.hidden = permission !== "default";
  note.textContent = {
    granted: "Desktop notifications are on while My Work is in the background.",
    denied: "Desktop notifications are blocked: allow them in your browser's site settings.",
    default: "",
  }[permission];
}

export function initNotifications({ isFront, onOpen, onChange }) {
  const centre = $("notify-centre");
  const settings = JSON.parse($("notify-settings").textContent);
  state.userId = settings.user_id;
  state.sound = { enabled: settings.sound_enabled, volume: settings.sound_volume };
  Object.assign(state, { counter: centre, soundUrl: centre.dataset.soundUrl, iconUrl: centre.dataset.icon });
  Object.assign(state, { isFront, onOpen, onChange });
  centre.dataset.soundPlays = "0";
  renderSound();
  renderDesktop();
  render();
  $("notify-sound").addEventListener("click", () => saveSound({ sound_enabled: !state.sound.enabled }));
  // The volume is saved when the CSR lets go of it (change), not on every step (input).
  $("notify-volume").addEventListener("change", (event) => saveSound({ sound_volume: Number(event.target.value) }));
  $("notify-test").addEventListener("click", () => playSound({ test: true }));
  $("notify-seen").addEventListener("click", () => {
    for (const item of state.items) markSeen(item);
    render();
  });
  $("notify-desktop").addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } catch (error) {
      // An old browser's callback form: its answer shows on the next render.
    }
    renderDesktop();
    $("notify-desktop-state").focus();
  });
}
