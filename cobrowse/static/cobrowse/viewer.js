// The CSR's co-browse viewer (/cobrowse/<session>/viewer/, framed in the chat panel):
// the customer's page rebuilt live with rrweb's Replayer (vendor/rrweb-replay.min.js),
// scaled to fit, following the customer's scroll, clicks, typing and window size; and,
// for the CSR who started the session, a pointer the customer sees on their own page.
// View and point only: the replayed page takes no clicks or keys.
//
// Socket: /ws/cobrowse/<session>/viewer/ (docs/websocket-protocol.md, "Co-browse
// sockets"): `catchup` (the last full snapshot and the frames since) and then `frame`s
// numbered by epoch (one per full snapshot) and n (their place in it).
import { LiveSocket } from "../portal/js/util.js";

const body = document.body;
const sessionId = body.dataset.session;
const role = body.dataset.role;
const f = (name) => document.querySelector(`[data-field="${name}"]`);
const stage = f("stage");
const screen = f("screen");
const glass = f("glass");
const status = f("status");
const empty = f("empty");
const pageLine = f("page");

let replayer = null;
let epoch = -1;
let last = 0;
let size = { width: 0, height: 0 };
let scale = 1;
let ended = false;

function say(text) { status.textContent = text; }

function rebase(events) {
  // Every event is applied as it arrives (the customer's clock may differ from ours):
  // rrweb applies at once an event older than the live baseline.
  for (const event of events) event.timestamp = replayer.baseline - 1;
  return events;
}

function newReplayer() {
  if (replayer) {
    try { replayer.player.destroy(); } catch (error) { /* gone */ }
  }
  screen.replaceChildren();
  const player = new window.rrwebReplay.Replayer([], {
    root: screen,
    liveMode: true,
    // Events are applied as they come (see rebase): to the page itself, not to a
    // virtual DOM that rrweb would only copy over on a later, timed event.
    useVirtualDom: false,
    mouseTail: false,
    // rrweb pauses CSS animations unless its state is "playing", and live mode is not:
    // an element rebuilt mid-animation (the chat widget's panel rises from opacity 0)
    // would stay frozen invisible. The customer's page runs its animations; so do we.
    pauseAnimation: false,
    showWarning: false,
    triggerFocus: false,
    UNSAFE_replayCanvas: false,
    // Blocked elements are empty boxes: say so, in a colour that tells them apart.
    insertStyleRules: [".rr-block { background: repeating-linear-gradient(45deg, #eef1f5, #eef1f5 8px, #dfe4ea 8px, #dfe4ea 16px) !important; }"],
  });
  // rrweb's iframe has no name of its own: the page's, as the screen says it.
  if (player.iframe) player.iframe.title = screen.getAttribute("aria-label") || "The customer's page";
  const baseline = Date.now();
  player.startLive(baseline);
  player.on("resize", (dimension) => { size = dimension; fit(); });
  replayer = { player, baseline };
}

function addEvents(events) {
  if (!replayer) newReplayer();
  for (const event of rebase(events)) {
    if (event.type === 4 && event.data && event.data.href) showHref(event.data.href);
    replayer.player.addEvent(event);
  }
  if (events.length) {
    empty.hidden = true;
    if (!ended) say("Live: you see the customer's page as they do.");
  }
}

function showHref(href) {
  try {
    const url = new URL(href);
    pageLine.textContent = `Page: ${url.pathname}`;
  } catch (error) {
    pageLine.textContent = "";
  }
}

function fit() {
  const wrapper = screen.querySelector(".replayer-wrapper");
  if (!wrapper || !size.width || !size.height) return;
  scale = Math.min(stage.clientWidth / size.width, stage.clientHeight / size.height, 1);
  wrapper.style.transform = `scale(${scale})`;
  wrapper.style.transformOrigin = "0 0";
  screen.style.width = `${Math.floor(size.width * scale)}px`;
  screen.style.height = `${Math.floor(size.height * scale)}px`;
  glass.style.width = screen.style.width;
  glass.style.height = screen.style.height;
}
new ResizeObserver(fit).observe(stage);

function catchup(data) {
  epoch = data.epoch;
  last = data.frames.length;
  newReplayer();
  const events = [];
  for (const frame of data.frames) events.push(...frame.events);
  if (events.length) addEvents(events);
}

function frame(data) {
  if (data.epoch === epoch && data.n <= last) return; // in the catch-up already
  if (data.n === 1 && data.epoch > epoch) {
    // A new full snapshot (the customer opened another page, or a resync).
    epoch = data.epoch;
    last = 1;
    addEvents(data.frame.events);
    return;
  }
  if (data.epoch !== epoch || data.n !== last + 1) {
    socket.send({ type: "catchup" }); // a frame was lost: take the whole page again
    return;
  }
  last = data.n;
  addEvents(data.frame.events);
}

function state(data) {
  if (data.status === "active") say("The customer allowed co-browse: loading their page…");
  else if (data.status !== "requested") finish(data.message);
}

function finish(message) {
  ended = true;
  say(message || "Co-browse has ended.");
  body.dataset.ended = "true";
  glass.hidden = true;
  for (const button of document.querySelectorAll("[data-action]")) button.disabled = true;
}

const socket = new LiveSocket({
  url: `/ws/cobrowse/${sessionId}/viewer/`,
  onMessage: (data) => {
    switch (data.type) {
      case "hello":
        if (data.status === "requested") say("Waiting for the customer to allow co-browse…");
        break;
      case "catchup": return catchup(data);
      case "frame": return frame(data);
      case "state": return state(data);
      case "error":
        if (data.code === "not_party") say(data.message);
        break;
      default: break;
    }
    return undefined;
  },
  onFinal: (code) => { if (code === 4410) finish(ended ? status.textContent : "Co-browse has ended."); if (code === 4403) finish("You may not view this co-browse session."); },
});

// --- Pointing (the CSR who started the session) -----------------------------------------

if (role === "csr") {
  const point = document.querySelector('[data-action="point"]');
  const end = document.querySelector('[data-action="end"]');
  let lastSent = 0;
  const cursor = f("cursor");
  // The keyboard pointer, in the glass's own pixels (null: not placed yet).
  let keyAt = null;
  const fromGlass = (x, y) => {
    const iframe = screen.querySelector("iframe");
    const win = iframe && iframe.contentWindow;
    return { x: x / scale + ((win && win.scrollX) || 0), y: y / scale + ((win && win.scrollY) || 0) };
  };
  const where = (event) => {
    const rect = glass.getBoundingClientRect();
    return fromGlass(event.clientX - rect.left, event.clientY - rect.top);
  };
  const setPointing = (on) => {
    point.setAttribute("aria-pressed", String(on));
    glass.hidden = !on;
    if (!on) {
      keyAt = null;
      cursor.hidden = true;
      socket.send({ type: "pointer", x: 0, y: 0, visible: false });
    }
  };
  point.addEventListener("click", (event) => {
    const on = point.getAttribute("aria-pressed") !== "true";
    setPointing(on);
    // Turned on from the keyboard (Enter/Space give a click with detail 0): the arrow
    // keys move the pointer at once.
    if (on && event.detail === 0) glass.focus();
  });
  glass.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 80 : 20;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key === "Escape") {
      event.preventDefault();
      setPointing(false);
      point.focus();
      return;
    }
    const move = moves[event.key];
    const highlight = event.key === "Enter" || event.key === " ";
    if (!move && !highlight) return;
    event.preventDefault();
    const width = glass.clientWidth;
    const height = glass.clientHeight;
    if (!keyAt) keyAt = { x: width / 2, y: height / 2 };
    if (move) {
      keyAt = {
        x: Math.min(Math.max(keyAt.x + move[0], 0), Math.max(width - 1, 0)),
        y: Math.min(Math.max(keyAt.y + move[1], 0), Math.max(height - 1, 0)),
      };
    }
    cursor.hidden = false;
    cursor.style.left = `${keyAt.x}px`;
    cursor.style.top = `${keyAt.y}px`;
    socket.send({ type: "pointer", ...fromGlass(keyAt.x, keyAt.y), ...(highlight ? { highlight: true } : {}) });
  });
  glass.addEventListener("pointermove", (event) => {
    const now = Date.now();
    if (now - lastSent < 40) return;
    lastSent = now;
    socket.send({ type: "pointer", ...where(event) });
  });
  glass.addEventListener("click", (event) => socket.send({ type: "pointer", ...where(event), highlight: true }));
  glass.addEventListener("pointerleave", () => socket.send({ type: "pointer", x: 0, y: 0, visible: false }));
  end.addEventListener("click", () => {
    if (!socket.send({ type: "end" })) say("Not connected: try again in a moment.");
  });
}
