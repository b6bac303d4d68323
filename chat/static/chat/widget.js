/*
 * The customer web-messaging widget: a launcher button and a chat panel that first talks
 * to the bot, then — after the bot escalates — to a CSR over the customer socket.
 *
 * Plain JavaScript, no build step, no framework. Embed it with
 *   <link rel="stylesheet" href="/static/chat/widget.css">
 *   <script src="/static/chat/widget.js" defer data-bot-url="/demo/bot/"
 *           data-csrf-token="…" data-title="Northwind Bank"></script>
 *
 * When a CSR asks the customer to authenticate, the widget shows a login prompt. Its
 * Sign in button gets an identity token (docs/authentication.md) in one of two ways:
 *   - window.PortalWidget = { identity: async ({customerId, interactionId}) => token }
 *     set before the script loads: the host page's own code asks its server to sign the
 *     customer (return null when the customer is not logged in on the site);
 *   - data-login-url="/login-for-chat/": the widget opens that page in a small window
 *     (with ?customer_id=<the widget's id>), which after the login posts
 *     {type: "portal-widget:identity", token} back to the widget (postMessage, from the
 *     login page's origin only).
 * The widget passes the token to the server over the customer socket (`authenticate`).
 *
 * The live chat follows docs/websocket-protocol.md (the customer socket): every message
 * has a sequence number; the widget keeps the last one it showed, ignores duplicates,
 * asks the server to `resume` when it sees a gap, and reconnects with exponential
 * backoff, resuming where it left off. What it needs to survive a reload lives in
 * sessionStorage. Text from anyone is only ever put in the page with textContent.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  const data = (script && script.dataset) || {};
  const host = (window.PortalWidget && typeof window.PortalWidget === "object" && window.PortalWidget) || {};
  const config = {
    botUrl: data.botUrl || "/demo/bot/",
    csrfToken: data.csrfToken || "",
    title: data.title || "Chat",
    assistantName: data.assistantName || "Assistant",
    loginUrl: data.loginUrl || "",
    identity: typeof host.identity === "function" ? host.identity : null,
  };

  const STORAGE_KEY = "csr-portal-widget:v1";
  const MAX_TEXT = 2000;
  // The same schedule as the portal's sockets (docs/websocket-protocol.md).
  const HEARTBEAT_EVERY_MS = 10000;
  const HEARTBEAT_TIMEOUT_MS = 10000;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 10000;
  const LIVE_BACK_SHOWN_MS = 4000;
  const TYPING_IDLE_MS = 3000;
  const TYPING_REPEAT_MS = 2500;
  // With the channel's typing preview on: the text typed so far, at most this often.
  const PREVIEW_EVERY_MS = 300;
  const REMOTE_TYPING_TIMEOUT_MS = 8000;
  const CLOSE_FORBIDDEN = 4403;
  const CLOSE_GONE = 4410;
  const ENDED_STATUSES = ["ended", "abandoned"];
  const IDENTITY_MESSAGE = "portal-widget:identity";

  // --- Session: what survives a page reload ------------------------------------------

  /**
   * {customerId, name, open, mode: "bot"|"live"|"ended", botState, suggestions,
   *  interactionId, token, wsUrl, lastSeq, status, csrName, queue: {position, wait},
   *  outbox: [{id, text}], endNote, authenticated,
   *  waitChoice: {message, choices, sent, writing} (the choice offered after a long wait),
   *  waitDraft (the message being written for follow-up), leftMessage}
   */
  let session = loadSession();

  function loadSession() {
    let stored = null;
    try {
      stored = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
    } catch (error) {
      stored = null;
    }
    const fresh = { customerId: uuid(), mode: "bot", open: false, outbox: [] };
    if (!stored || typeof stored !== "object" || !stored.customerId) return fresh;
    stored.outbox = Array.isArray(stored.outbox) ? stored.outbox : [];
    return stored;
  }

  function saveSession() {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    } catch (error) {
      // Storage full or disabled: the chat still works, it just won't survive a reload.
    }
  }

  function uuid() {
    // crypto.randomUUID needs a secure context; getRandomValues works everywhere.
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try {
        return window.crypto.randomUUID();
      } catch (error) {
        /* fall through */
      }
    }
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // --- DOM helpers: elements are built with textContent, never from HTML strings ------

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function icon(paths) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (const d of paths) {
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }

  function timeLabel(iso) {
    const date = iso ? new Date(iso) : new Date();
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /** The server's estimate (docs/routing.md), in minutes; never a number it did not send. */
  function waitLabel(seconds) {
    if (typeof seconds !== "number") return "";
    if (seconds < 60) return "less than a minute";
    return `about ${Math.round(seconds / 60)} min`;
  }

  // --- The widget's elements ----------------------------------------------------------

  const ui = {};
  let ext = null; // attachments.js: {wireWidget}

  function build() {
    ui.launcherBadge = el("span", { className: "cpw-badge", hidden: true, "aria-hidden": "true" });
    ui.launcher = el(
      "button",
      {
        type: "button",
        className: "cpw-launcher",
        "aria-expanded": "false",
        "aria-controls": "cpw-panel",
        "aria-haspopup": "dialog",
      },
      [
        icon(["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"]),
        el("span", { className: "cpw-launcher-label", text: "Chat with us" }),
        ui.launcherBadge,
      ],
    );

    ui.title = el("h2", { id: "cpw-title", className: "cpw-title", text: config.title });
    ui.subtitle = el("p", { className: "cpw-subtitle", text: "Virtual assistant" });
    ui.verified = el("p", { className: "cpw-verified", hidden: true }, [
      icon(["M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5z", "m8.5 12 2.5 2.5 4.5-5"]),
      el("span", { text: "You are signed in" }),
    ]);
    ui.endButton = el("button", { type: "button", className: "cpw-end", text: "End chat", hidden: true });
    ui.closeButton = el("button", { type: "button", className: "cpw-close", "aria-label": "Close chat" }, [
      icon(["M6 6l12 12M18 6L6 18"]),
    ]);
    const header = el("header", { className: "cpw-header" }, [
      el("div", { className: "cpw-avatar", "aria-hidden": "true", text: (config.title[0] || "C").toUpperCase() }),
      el("div", { className: "cpw-heading" }, [ui.title, ui.subtitle, ui.verified]),
      ui.endButton,
      ui.closeButton,
    ]);

    ui.status = el("p", { id: "cpw-status", className: "cpw-status", role: "status" });
    // The live region wraps the list (role="log" on the <ol> would take away its list
    // role); the list scrolls and takes focus, so the keyboard can scroll it.
    ui.log = el("ol", { className: "cpw-log", tabindex: "0", "aria-label": "Messages" });
    ui.logFrame = el("div", { className: "cpw-log-frame", role: "log", "aria-live": "polite", "aria-label": "Conversation" }, [ui.log]);
    ui.typing = el("p", { className: "cpw-typing", hidden: true, "aria-live": "polite" });
    ui.suggestions = el("div", {
      className: "cpw-suggestions",
      role: "group",
      "aria-label": "Suggested replies",
      hidden: true,
    });

    ui.input = el("textarea", {
      id: "cpw-input",
      className: "cpw-input",
      rows: "1",
      maxlength: String(MAX_TEXT),
      placeholder: "Type your message…",
      "aria-describedby": "cpw-hint",
    });
    ui.send = el("button", { type: "submit", className: "cpw-send", "aria-label": "Send message" }, [
      icon(["M3 20l18-8L3 4v6l12 2-12 2z"]),
    ]);
    ui.composer = el("form", { className: "cpw-composer" }, [
      el("label", { for: "cpw-input", className: "cpw-visually-hidden", text: "Message" }),
      ui.input,
      ui.send,
    ]);
    ui.hint = el("p", { id: "cpw-hint", className: "cpw-hint", text: "Enter to send · Shift+Enter for a new line" });
    ui.waitChoice = el("div", { className: "cpw-wait", role: "group", "aria-label": "You have waited a while", hidden: true });
    ui.restart = el("button", { type: "button", className: "cpw-restart", text: "Start a new chat", hidden: true });
    // Shown while the channel's typing preview is on (the hello frame says so).
    ui.previewNotice = el("p", {
      id: "cpw-preview-notice",
      className: "cpw-hint cpw-preview-notice",
      text: "The agent can see what you type before you send it.",
      hidden: true,
    });

    ui.panel = el(
      "section",
      {
        id: "cpw-panel",
        className: "cpw-panel",
        role: "dialog",
        "aria-modal": "false",
        "aria-labelledby": "cpw-title",
        "aria-describedby": "cpw-status",
        hidden: true,
      },
      [header, ui.status, ui.logFrame, ui.typing, ui.suggestions, ui.waitChoice, ui.composer, ui.hint, ui.previewNotice, ui.restart],
    );
    ui.root = el("div", { className: "cpw-root" }, [ui.panel, ui.launcher]);
    document.body.append(ui.root);
    if (ext) ui.files = ext.wireWidget({ ui, session: () => session });

    ui.launcher.addEventListener("click", () => (ui.panel.hidden ? openPanel() : closePanel()));
    ui.closeButton.addEventListener("click", () => closePanel());
    ui.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        closePanel();
      }
    });
    ui.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      submitComposer();
    });
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submitComposer();
      }
    });
    ui.input.addEventListener("input", () => {
      autoGrow();
      live.typingInput();
    });
    ui.input.addEventListener("blur", () => live.typingStop());
    ui.endButton.addEventListener("click", () => live.end());
    ui.restart.addEventListener("click", () => restart());
    document.addEventListener("visibilitychange", () => live.markRead());
    // Keep the newest message in view while the panel around the log changes size
    // (suggestions, typing line, composer growing) — unless the customer scrolled up.
    ui.log.addEventListener("scroll", () => {
      stuckToBottom = isNearBottom();
    });
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => {
        if (stuckToBottom) scrollToEnd();
      }).observe(ui.log);
    }
  }

  function autoGrow() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 120)}px`;
    keepBottom();
  }

  function openPanel({ focus = true } = {}) {
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcherBadge.hidden = true;
    session.open = true;
    saveSession();
    scrollToEnd();
    if (focus) (ui.composer.hidden ? ui.closeButton : ui.input).focus();
    if (session.mode === "bot" && !session.botState && !bot.pending) bot.start();
    live.markRead();
  }

  function closePanel() {
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    session.open = false;
    saveSession();
    ui.launcher.focus();
  }

  function submitComposer() {
    const text = ui.input.value;
    if (session.mode === "bot" && bot.pending) return;
    if (text.length > MAX_TEXT) {
      notice(`A message can be at most ${MAX_TEXT} characters.`);
      return;
    }
    // The uploaded files go with the text (null: an upload is still going, and said so).
    const files = session.mode === "live" && ui.files ? ui.files.take() : [];
    if (files === null || (!text.trim() && !files.length)) return;
    ui.input.value = "";
    autoGrow();
    if (session.mode === "bot") bot.say(text);
    else if (session.mode === "live") live.send(text, files);
  }

  function restart() {
    live.stop();
    if (survey) survey.clear();
    auth.pending = false;
    auth.popup = null;
    session = { customerId: session.customerId, mode: "bot", open: true, outbox: [] };
    saveSession();
    clearLog({ keepPending: false });
    setMode();
    bot.start();
    ui.input.focus();
  }

  // --- The conversation log -----------------------------------------------------------

  const byClientId = new Map(); // client_msg_id → <li> of the customer's own messages
  let stuckToBottom = true;

  function clearLog({ keepPending }) {
    for (const item of Array.from(ui.log.children)) {
      if (keepPending && item.dataset.pending === "1") continue;
      if (item.dataset.clientId) byClientId.delete(item.dataset.clientId);
      item.remove();
    }
  }

  function isNearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
    stuckToBottom = true;
  }

  /** After the widget changes what surrounds the log (suggestions, typing line, a
   * taller composer): stay at the newest message, unless the customer scrolled up. Done
   * at once, so the scroll event that follows sees the log still at the bottom. */
  function keepBottom() {
    if (stuckToBottom) scrollToEnd();
  }

  /** A message row. kind: customer | csr | bot | system | notice. */
  function messageItem({ kind, author, text, at, seq, files }) {
    const item = el("li", { className: `cpw-msg cpw-msg--${kind}` });
    if (seq) item.dataset.seq = String(seq);
    if (kind === "system" || kind === "notice") {
      item.append(el("p", { className: "cpw-system-text", text }));
      return item;
    }
    // The bot's lines come back from the server under the bot client's admin name:
    // the customer always sees the assistant's name for them.
    const names = { customer: "You", bot: config.assistantName };
    const who = names[kind] || author || "Agent";
    item.append(
      el("p", { className: "cpw-meta" }, [
        el("span", { className: "cpw-author", text: who }),
        el("span", { className: "cpw-time", text: timeLabel(at) }),
      ]),
      el("p", { className: "cpw-bubble", text, hidden: Boolean(!text && files && files.length) }),
    );
    if (files && files.length && ui.files) item.append(ui.files.renderFiles(files));
    if (kind === "customer") item.append(el("p", { className: "cpw-delivery", "aria-live": "off" }));
    return item;
  }

  /** Put a row in the log: before the customer's own unconfirmed messages, which stay last. */
  function appendItem(item) {
    const stick = stuckToBottom || isNearBottom();
    const firstPending = ui.log.querySelector('li[data-pending="1"]');
    ui.log.insertBefore(item, firstPending);
    markLatestDelivered();
    if (stick || item.classList.contains("cpw-msg--customer")) scrollToEnd();
  }

  function appendPending(item) {
    ui.log.append(item);
    scrollToEnd();
  }

  function setDelivery(item, state, text) {
    item.dataset.delivery = state;
    const label = item.querySelector(".cpw-delivery");
    if (label) label.textContent = text;
    markLatestDelivered();
  }

  /** "Sent" / "Read" shows under the newest such message only; "Sending…" and "Not
   * sent" always show. */
  function markLatestDelivered() {
    const done = ui.log.querySelectorAll('li[data-delivery="sent"], li[data-delivery="read"]');
    done.forEach((item, index) => item.classList.toggle("cpw-latest", index === done.length - 1));
  }

  function notice(text) {
    appendItem(messageItem({ kind: "notice", text }));
  }

  // --- Authentication: the CSR's login request and the Sign in button ---------------

  const auth = {
    popup: null, // the login window opened by Sign in
    popupOrigin: "",
    pending: false, // an `authenticate` was sent and not answered yet
  };

  function canSignIn() {
    return Boolean(config.identity || config.loginUrl);
  }

  /** The CSR's login request (system message, event auth_requested), as the customer
   * sees it: a prompt with a Sign in button. */
  function authPromptItem(seq) {
    const item = el("li", { className: "cpw-msg cpw-msg--auth" });
    if (seq) item.dataset.seq = String(seq);
    const button = el("button", { type: "button", className: "cpw-auth-button", text: "Sign in" });
    button.addEventListener("click", () => signIn());
    const text = canSignIn()
      ? "The agent asked you to sign in, so they can be sure it's you they are helping."
      : "The agent asked you to sign in, so they can be sure it's you. Sign in on this website, then tell the agent.";
    item.append(
      el("div", { className: "cpw-auth-card", role: "group", "aria-label": "Sign-in request" }, [
        el("p", { className: "cpw-auth-title", text: "Please sign in" }),
        el("p", { className: "cpw-auth-text", text }),
        button,
        el("p", { className: "cpw-auth-state", role: "status" }),
      ]),
    );
    return item;
  }

  /** Show who is signed in, and keep only the newest prompt's Sign in button, while the
   * customer is not signed in and the chat goes on. */
  function refreshAuth() {
    ui.verified.hidden = !session.authenticated;
    const prompts = ui.log.querySelectorAll("li.cpw-msg--auth");
    prompts.forEach((item, index) => {
      const newest = index === prompts.length - 1;
      const open = newest && !session.authenticated && session.mode === "live" && canSignIn();
      item.querySelector(".cpw-auth-button").hidden = !open || auth.pending;
      item.classList.toggle("cpw-auth--done", Boolean(session.authenticated));
      // Signed in: the "You are signed in" line below the prompt and the header say so.
      if (session.authenticated) setAuthState(item, "done", "");
    });
  }

  /** The newest prompt's line under its button (or `item`'s). */
  function setAuthState(item, state, text) {
    const target = item || Array.from(ui.log.querySelectorAll("li.cpw-msg--auth")).pop();
    if (!target) {
      if (state === "error" && text) notice(text);
      return;
    }
    const line = target.querySelector(".cpw-auth-state");
    line.dataset.state = state;
    line.textContent = text;
    keepBottom();
  }

  async function signIn() {
    if (auth.pending || session.authenticated || session.mode !== "live") return;
    if (config.identity) {
      setAuthState(null, "busy", "Signing you in…");
      let token = null;
      try {
        token = await config.identity({ customerId: session.customerId, interactionId: session.interactionId });
      } catch (error) {
        token = null;
      }
      if (typeof token === "string") {
        try {
          token = JSON.parse(token);
        } catch (error) {
          token = null;
        }
      }
      if (token && typeof token === "object") {
        live.authenticate(token);
        return;
      }
      if (!config.loginUrl) {
        setAuthState(null, "error", "You are not signed in on this website. Sign in, then try again.");
        return;
      }
    }
    openLogin();
  }

  function openLogin() {
    let url;
    try {
      url = new URL(config.loginUrl, window.location.href);
    } catch (error) {
      setAuthState(null, "error", "Signing in is not available here.");
      return;
    }
    url.searchParams.set("customer_id", session.customerId);
    const popup = window.open(url.toString(), "cpw-login", "popup,width=480,height=640");
    if (!popup) {
      setAuthState(null, "error", "Your browser blocked the sign-in window. Allow pop-ups for this site, then choose Sign in again.");
      return;
    }
    auth.popup = popup;
    auth.popupOrigin = url.origin;
    setAuthState(null, "busy", "Finish signing in in the window that opened.");
  }

  /** The login window's answer: only from the window we opened, at the login page's origin. */
  function onWindowMessage(event) {
    if (!auth.popup || event.source !== auth.popup || event.origin !== auth.popupOrigin) return;
    const message = event.data;
    if (!message || typeof message !== "object" || message.type !== IDENTITY_MESSAGE) return;
    if (!message.token || typeof message.token !== "object") return;
    auth.popup = null;
    live.authenticate(message.token);
  }

  // --- Header, status line, composer per mode -----------------------------------------

  function setMode() {
    const mode = session.mode;
    const focused = ui.panel.contains(document.activeElement) ? document.activeElement : null;
    if (ui.files) ui.files.modeChanged(mode);
    ui.endButton.hidden = mode !== "live";
    ui.restart.hidden = mode !== "ended";
    ui.composer.hidden = mode === "ended";
    ui.hint.hidden = mode === "ended";
    if (mode === "ended") {
      ui.typing.hidden = true;
      renderSuggestions([]);
    }
    updateHeader();
    updateStatus();
    refreshAuth();
    renderWaitChoice();
    keepBottom();
    // Focus on a control this mode hides would fall to the page: keep it in the widget.
    if (focused && !focused.getClientRects().length) (mode === "ended" ? ui.restart : ui.input).focus();
  }

  function updateHeader() {
    if (session.mode === "bot") ui.subtitle.textContent = "Virtual assistant";
    else if (session.csrName) ui.subtitle.textContent = `Agent: ${session.csrName}`;
    else if (session.mode === "live") ui.subtitle.textContent = "Waiting for an agent";
    else ui.subtitle.textContent = "Chat ended";
  }

  function updateStatus() {
    let text = "";
    let tone = "info";
    if (session.mode === "bot") {
      text = "";
    } else if (session.mode === "ended") {
      text = session.endNote || "Chat ended";
      tone = "ended";
    } else if (live.conn === "connecting") {
      text = "Connecting…";
      tone = "warn";
    } else if (live.conn === "retrying") {
      text = `Reconnecting in ${live.retryInSeconds()} s…`;
      tone = "warn";
    } else if (live.conn === "offline") {
      text = "You are offline. The chat reconnects when your connection is back.";
      tone = "warn";
    } else if (live.conn === "open" && live.replaying) {
      text = "Connecting…";
      tone = "warn";
    } else if (live.delayed) {
      // The server's live updates wait for it to reconnect; sending still works.
      text = "Replies may be delayed a moment. You can keep writing: your messages are saved.";
      tone = "warn";
    } else if (live.backUntil > Date.now()) {
      text = "Connected again.";
    } else if (session.status === "active") {
      text = session.csrName ? `You are chatting with ${session.csrName}` : "An agent is with you";
    } else {
      const position = session.queue && session.queue.position;
      const wait = waitLabel(session.queue && session.queue.wait);
      if (position) {
        text = `You are number ${position} in the queue`;
        text += wait ? ` · estimated wait ${wait}` : " · we can't estimate the wait yet";
      } else {
        text = "Waiting for an agent…";
      }
    }
    ui.status.textContent = text;
    ui.status.hidden = !text;
    ui.status.dataset.tone = tone;
    keepBottom();
  }

  // --- The choice offered after a long wait (wait.options) --------------------------------

  const WAIT_CHOICE_LABELS = { keep_waiting: "Keep waiting", leave_message: "Leave a message", end: "End chat" };
  const WAIT_CHOICE_SENT = {
    keep_waiting: "Keeping your place…",
    leave_message: "Leaving your message…",
    end: "Ending the chat…",
  };

  /** The card above the composer: the server's words, a button per choice, and a box
   * for the message to leave. Rebuilt from session.waitChoice whenever it changes. */
  function renderWaitChoice() {
    const offer = session.mode === "live" ? session.waitChoice : null;
    ui.waitChoice.replaceChildren();
    ui.waitChoice.hidden = !offer;
    if (!offer) return keepBottom();
    ui.waitChoice.append(el("p", { className: "cpw-wait-text", text: offer.message }));
    if (offer.sent) {
      ui.waitChoice.append(el("p", { className: "cpw-wait-state", role: "status", text: WAIT_CHOICE_SENT[offer.sent] || "" }));
      return keepBottom();
    }
    if (offer.writing) {
      const box = el("textarea", {
        className: "cpw-wait-input",
        rows: "3",
        maxlength: String(MAX_TEXT),
        "aria-label": "Your message for follow-up",
        placeholder: "What can we help you with? We'll get back to you.",
      });
      box.value = session.waitDraft || "";
      box.addEventListener("input", () => {
        session.waitDraft = box.value;
        saveSession();
      });
      const send = el("button", { type: "button", className: "cpw-wait-button cpw-wait-button--main", text: "Send message" });
      send.addEventListener("click", () => {
        if (!box.value.trim()) return box.focus();
        return live.chooseWait("leave_message", box.value);
      });
      const back = el("button", { type: "button", className: "cpw-wait-button", text: "Back" });
      back.addEventListener("click", () => {
        offer.writing = false;
        saveSession();
        renderWaitChoice();
      });
      ui.waitChoice.append(box, el("div", { className: "cpw-wait-buttons" }, [send, back]));
      keepBottom();
      box.focus();
      return undefined;
    }
    const buttons = el("div", { className: "cpw-wait-buttons" });
    for (const choice of offer.choices || []) {
      if (!WAIT_CHOICE_LABELS[choice]) continue;
      const button = el("button", {
        type: "button",
        className: `cpw-wait-button${choice === "keep_waiting" ? " cpw-wait-button--main" : ""}`,
        "data-choice": choice,
        text: WAIT_CHOICE_LABELS[choice],
      });
      button.addEventListener("click", () => {
        if (choice === "leave_message") {
          offer.writing = true;
          saveSession();
          renderWaitChoice();
        } else {
          live.chooseWait(choice, null);
        }
      });
      buttons.append(button);
    }
    ui.waitChoice.append(buttons);
    return keepBottom();
  }

  function renderSuggestions(list) {
    ui.suggestions.replaceChildren();
    for (const label of list || []) {
      const button = el("button", { type: "button", className: "cpw-suggestion", text: label });
      button.addEventListener("click", () => {
        if (!bot.pending) bot.say(label);
      });
      ui.suggestions.append(button);
    }
    ui.suggestions.hidden = !(list && list.length);
    keepBottom();
  }

  // --- The bot conversation (before the escalation) -----------------------------------

  const bot = {
    pending: false,
    lastFailed: null, // {text, item} of a turn that failed, for "Try again"

    start() {
      this.turn("", null);
    },

    say(text) {
      const item = messageItem({ kind: "customer", text, at: new Date().toISOString() });
      setDelivery(item, "sending", "Sending…");
      appendItem(item);
      this.turn(text, item);
    },

    async turn(text, item) {
      this.pending = true;
      this.setBusy(true);
      renderSuggestions([]);
      let reply;
      try {
        reply = await this.post(text);
      } catch (error) {
        this.pending = false;
        this.setBusy(false);
        if (item) setDelivery(item, "failed", "Not sent");
        this.offerRetry(text, item, error.message);
        return;
      }
      this.pending = false;
      this.setBusy(false);
      if (item) {
        setDelivery(item, "sent", "");
        if (reply.state && reply.state.name) session.name = reply.state.name;
      }
      session.botState = reply.state;
      session.suggestions = reply.suggestions || [];
      for (const line of reply.replies || []) {
        appendItem(messageItem({ kind: "bot", text: line.text, at: line.at }));
      }
      if (reply.escalation) {
        live.begin(reply.escalation);
      } else {
        renderSuggestions(session.suggestions);
      }
      saveSession();
    },

    async post(text) {
      let response;
      try {
        response = await fetch(config.botUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({
            state: session.botState || {},
            text,
            client: {
              customer_id: session.customerId,
              page_url: window.location.href.slice(0, 500),
              language: (navigator.language || "").slice(0, 35),
            },
          }),
        });
      } catch (error) {
        throw new Error("We couldn't reach the chat service. Check your connection.");
      }
      let body = null;
      try {
        body = await response.json();
      } catch (error) {
        body = null;
      }
      if (response.ok && body) return body;
      if (response.status === 403) throw new Error("Your session has expired. Reload the page to chat.");
      if (response.status === 429) {
        throw new Error((body && body.message) || "You are sending messages too fast. Wait a minute.");
      }
      if (response.status === 400 && body && body.errors && body.errors.some((e) => e.field === "state")) {
        // The conversation state is no longer accepted (e.g. the server's key changed).
        session.botState = null;
        saveSession();
      }
      throw new Error((body && body.message) || `The chat service answered with an error (${response.status}).`);
    },

    offerRetry(text, item, message) {
      const row = el("li", { className: "cpw-msg cpw-msg--notice cpw-msg--error" });
      const retry = el("button", { type: "button", className: "cpw-link", text: "Try again" });
      row.append(el("p", { className: "cpw-system-text", text: message + " " }, [retry]));
      retry.addEventListener("click", () => {
        row.remove();
        if (item) setDelivery(item, "sending", "Sending…");
        this.turn(text, item);
      });
      appendItem(row);
      retry.focus();
    },

    setBusy(busy) {
      ui.send.disabled = busy;
      ui.typing.hidden = !busy;
      ui.typing.textContent = busy ? `${config.assistantName} is typing…` : "";
      keepBottom();
    },

    /** Rebuild the bot conversation from the stored state (after a reload). */
    restore() {
      const lines = (session.botState && session.botState.transcript) || [];
      for (const line of lines) {
        const kind = line.from === "customer" ? "customer" : "bot";
        const item = messageItem({ kind, text: line.text, at: line.at });
        if (kind === "customer") setDelivery(item, "sent", "");
        appendItem(item);
      }
      renderSuggestions(session.suggestions || []);
    },
  };

  function csrfToken() {
    if (config.csrfToken) return config.csrfToken;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // --- The live chat (after the escalation) -------------------------------------------

  /** The `send` frame of an outbox entry: its files go by id (attachment_ids). */
  function sendFrame(entry) {
    const frame = { type: "send", client_msg_id: entry.id, text: entry.text };
    if (entry.files && entry.files.length) frame.attachment_ids = entry.files.map((file) => file.id);
    return frame;
  }

  const live = {
    socket: null,
    conn: "idle", // idle | connecting | open | retrying | offline | closed
    replaying: false,
    delayed: false, // the server said live.delayed (until live.restored or a new socket)
    backUntil: 0, // show "Connected again." until then, after live.restored
    backTimer: null,
    lastSeq: 0, // the last message shown; 0 on a fresh page, so the server replays all
    attempt: 0,
    retryAt: 0,
    retryTimer: null,
    countdownTimer: null,
    heartbeatTimer: null,
    heartbeatDeadline: null,
    resumeAskedAt: -1,
    endRequested: false,
    typingActive: false,
    typingSentAt: 0,
    typingIdleTimer: null,
    remoteTypingTimer: null,
    readSent: 0,

    begin(escalation) {
      this.lastSeq = 0;
      this.readSent = 0;
      this.attempt = 0;
      this.endRequested = false;
      ui.endButton.removeAttribute("aria-disabled");
      session.mode = "live";
      session.interactionId = escalation.interaction_id;
      session.token = escalation.customer_token;
      session.wsUrl = escalation.customer_ws_url;
      session.status = escalation.status;
      session.queue = { position: escalation.position, wait: escalation.estimated_wait_seconds };
      session.lastSeq = 0;
      session.csrName = null;
      saveSession();
      renderSuggestions([]);
      setMode();
      this.connect();
    },

    connect() {
      this.clearTimers();
      if (navigator.onLine === false) {
        this.setConn("offline");
        return;
      }
      this.setConn("connecting");
      let url;
      try {
        url = new URL(session.wsUrl, window.location.href);
      } catch (error) {
        this.finish("This chat link is not valid. Start a new chat.");
        return;
      }
      url.searchParams.set("last_seq", String(this.lastSeq));
      let socket;
      try {
        socket = new WebSocket(url.toString());
      } catch (error) {
        this.scheduleReconnect();
        return;
      }
      this.socket = socket;
      socket.addEventListener("message", (event) => {
        if (this.socket === socket) this.onFrame(event.data);
      });
      socket.addEventListener("close", (event) => {
        if (this.socket === socket) this.onClose(event.code);
      });
    },

    /** Drop the socket now, without waiting for a closing handshake that may never come. */
    drop() {
      const socket = this.socket;
      this.socket = null;
      this.stopHeartbeat();
      if (socket) {
        try {
          socket.close(1000);
        } catch (error) {
          /* already closed */
        }
      }
    },

    stop() {
      this.drop();
      this.clearTimers();
      this.conn = "idle";
    },

    setConn(conn) {
      this.conn = conn;
      ui.panel.dataset.connection = conn;
      updateStatus();
    },

    transmit(message) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
      this.socket.send(JSON.stringify(message));
      return true;
    },

    onFrame(raw) {
      let message;
      try {
        message = JSON.parse(raw);
      } catch (error) {
        return;
      }
      if (!message || typeof message !== "object") return;
      this.gotSignOfLife();
      switch (message.type) {
        case "hello":
          return this.onHello(message);
        case "message":
          return this.onMessage(message);
        case "replay.done":
          return this.onReplayDone();
        case "ack":
          return this.onAck(message);
        case "error":
          if (survey && survey.error(message)) return undefined;
          return this.onError(message);
        case "typing":
          return this.onTyping(message);
        case "read":
          return this.onRead(message);
        case "interaction.status":
          return this.onStatus(message);
        case "authenticate.ok":
          return this.onAuthenticated();
        case "queue.position":
          session.queue = { position: message.position, wait: message.estimated_wait_seconds };
          saveSession();
          return updateStatus();
        case "wait.options":
          if (session.status === "active") return undefined;
          session.waitChoice = { message: message.message, choices: message.choices || [] };
          saveSession();
          return renderWaitChoice();
        case "wait.chosen":
          return this.onWaitChosen(message);
        case "resync.required":
          // The server has no message we think we saw: drop our copy; it replays from 0.
          this.lastSeq = 0;
          this.resumeAskedAt = -1;
          return clearLog({ keepPending: true });
        case "live.delayed":
          this.delayed = true;
          return updateStatus();
        case "live.restored":
          this.delayed = false;
          this.backUntil = Date.now() + LIVE_BACK_SHOWN_MS;
          window.clearTimeout(this.backTimer);
          this.backTimer = window.setTimeout(() => updateStatus(), LIVE_BACK_SHOWN_MS);
          return updateStatus();
        case "cobrowse.state":
          return cobrowse(message);
        case "csat.request":
        case "csat.answered":
          return csat(message);
        default:
          return undefined; // heartbeat.ack and types added later
      }
    },

    onHello(message) {
      this.attempt = 0;
      this.replaying = true;
      this.delayed = false; // a new socket: the server says again if it still is
      this.resumeAskedAt = -1;
      if (this.lastSeq === 0) clearLog({ keepPending: true }); // the replay rebuilds it all
      // The server sends the long-wait choice again after the replay while it stands.
      session.waitChoice = null;
      renderWaitChoice();
      const interaction = message.interaction || {};
      if (typeof interaction.position === "number") {
        session.queue = { position: interaction.position, wait: interaction.estimated_wait_seconds };
      }
      session.authenticated = Boolean(interaction.authenticated);
      session.typingPreview = Boolean(interaction.typing_preview);
      showPreviewNotice();
      if (ui.files) ui.files.setPolicy(message.attachments);
      this.applyStatus(interaction.status, interaction.assigned_csr);
      refreshAuth();
      this.setConn("open");
      this.startHeartbeat();
    },

    onReplayDone() {
      this.replaying = false;
      updateStatus();
      if (session.mode !== "live") return;
      for (const entry of session.outbox) {
        if (!this.transmit(sendFrame(entry))) break;
        const item = byClientId.get(entry.id);
        if (item && item.dataset.delivery !== "sent") setDelivery(item, "sending", "Sending…");
      }
      if (this.endRequested) this.transmit({ type: "end" });
      this.markRead();
    },

    onMessage(message) {
      const seq = Number(message.seq);
      if (!Number.isInteger(seq) || seq <= this.lastSeq) return; // a duplicate
      if (seq > this.lastSeq + 1) {
        // A gap: ask for what is missing (once per gap); this message comes again.
        if (this.resumeAskedAt !== this.lastSeq) {
          this.resumeAskedAt = this.lastSeq;
          this.transmit({ type: "resume", last_seq: this.lastSeq });
        }
        return;
      }
      this.lastSeq = seq;
      session.lastSeq = seq;
      if (message.hidden) return; // for the contact center only: just its place in line
      const kind = ["customer", "csr", "bot", "system"].includes(message.sender_kind) ? message.sender_kind : "system";
      const own = kind === "customer" && message.client_msg_id ? byClientId.get(message.client_msg_id) : null;
      if (own) {
        // The server stored our message: it takes its place in the sequence.
        own.remove();
        delete own.dataset.pending;
        own.dataset.seq = String(seq);
        appendItem(own);
        if (own.dataset.delivery !== "read") setDelivery(own, "sent", "Sent");
        this.outboxRemove(message.client_msg_id);
      } else {
        const event = kind === "system" ? message.event : "";
        // An article's card or a pushed page (chat/cards.js, when the page loads it).
        const card = kind === "csr" && window.PortalWidgetCards ? window.PortalWidgetCards.render(message, { seq, time: timeLabel(message.created_at) }) : null;
        // The CSR's wording is for the CSR: the customer sees a prompt, then a confirmation.
        const item = card ||
          (event === "auth_requested"
            ? authPromptItem(seq)
            : messageItem({
                kind,
                author: message.author_name,
                text: event === "authenticated" ? "You are signed in." : message.text,
                at: message.created_at,
                seq,
                files: message.attachments,
              }));
        if (event === "authenticated") item.classList.add("cpw-msg--signed-in");
        if (kind === "customer") {
          if (!message.pre_escalation) setDelivery(item, "sent", "Sent");
          if (message.client_msg_id) {
            item.dataset.clientId = message.client_msg_id;
            byClientId.set(message.client_msg_id, item);
            this.outboxRemove(message.client_msg_id);
          }
        }
        if (message.pre_escalation) item.classList.add("cpw-msg--earlier");
        appendItem(item);
        if (event === "authenticated") session.authenticated = true;
        if (event === "auth_requested" || event === "authenticated") refreshAuth();
      }
      if (kind === "system" && message.event === "joined" && message.data && message.data.csr) {
        session.csrName = message.data.csr;
        updateHeader();
        updateStatus();
      }
      if (kind === "csr") {
        this.hideRemoteTyping();
        if (!this.replaying) {
          this.markRead();
          if (ui.panel.hidden) ui.launcherBadge.hidden = false;
        }
      }
      saveSession();
    },

    /** Ask the server for one of the long-wait choices (wait.choice); the answer is
     * wait.chosen, or an error. Sending the same choice again is safe. */
    chooseWait(choice, text) {
      const offer = session.waitChoice;
      if (!offer || offer.sent) return;
      const frame = { type: "wait.choice", choice };
      if (choice === "leave_message") frame.text = text;
      if (!this.transmit(frame)) {
        notice("Not connected right now. Choose again in a moment.");
        return;
      }
      offer.sent = choice;
      if (choice === "leave_message") session.leftMessage = true;
      saveSession();
      renderWaitChoice();
    },

    onWaitChosen(message) {
      if (message.choice === "leave_message") session.leftMessage = true;
      session.waitChoice = null;
      session.waitDraft = "";
      saveSession();
      renderWaitChoice();
    },

    onAck(message) {
      const item = byClientId.get(message.client_msg_id);
      this.outboxRemove(message.client_msg_id);
      if (!item) return;
      if (item.dataset.delivery !== "read") setDelivery(item, "sent", "Sent");
      if (item.dataset.pending === "1" && Number(message.seq) <= this.lastSeq) {
        // Its `message` came before we could match it: keep it where it is.
        delete item.dataset.pending;
        item.dataset.seq = String(message.seq);
      }
    },

    onError(message) {
      if (auth.pending && !message.client_msg_id) {
        // The answer to our `authenticate`: the token was refused, nothing changed.
        auth.pending = false;
        refreshAuth();
        setAuthState(null, "error", message.message || "We couldn't sign you in. Try again.");
        return;
      }
      if (message.client_msg_id && byClientId.has(message.client_msg_id)) {
        const item = byClientId.get(message.client_msg_id);
        this.outboxRemove(message.client_msg_id);
        if (message.code === "rate_limited") {
          // Not stored: send it again after the pause the server asked for.
          session.outbox.push({ id: message.client_msg_id, text: item.querySelector(".cpw-bubble").textContent, files: item.cpwFiles || [] });
          saveSession();
          setDelivery(item, "sending", "Sending…");
          window.setTimeout(() => this.flushOne(message.client_msg_id), (message.retry_after || 2) * 1000);
          return;
        }
        delete item.dataset.pending;
        setDelivery(item, "failed", `Not sent: ${message.message || message.code}`);
      } else if (message.message) {
        notice(message.message);
      }
      if (session.waitChoice && session.waitChoice.sent) {
        // The choice was refused (e.g. the message was too long): choose again.
        session.waitChoice.sent = null;
        session.leftMessage = false;
        saveSession();
        renderWaitChoice();
      }
      if (message.code === "chat_ended") this.applyStatus("ended", session.csrName);
    },

    flushOne(id) {
      const entry = session.outbox.find((e) => e.id === id);
      if (entry) this.transmit(sendFrame(entry));
    },

    onTyping(message) {
      if (message.from !== "csr") return;
      if (!message.active) return this.hideRemoteTyping();
      const name = message.name || session.csrName || "The agent";
      ui.typing.textContent = `${name} is typing…`;
      ui.typing.hidden = false;
      keepBottom();
      window.clearTimeout(this.remoteTypingTimer);
      this.remoteTypingTimer = window.setTimeout(() => this.hideRemoteTyping(), REMOTE_TYPING_TIMEOUT_MS);
      return undefined;
    },

    hideRemoteTyping() {
      window.clearTimeout(this.remoteTypingTimer);
      ui.typing.hidden = true;
      ui.typing.textContent = "";
      keepBottom();
    },

    onRead(message) {
      if (message.by !== "csr") return;
      const upTo = Number(message.seq);
      for (const item of ui.log.querySelectorAll("li.cpw-msg--customer[data-seq]")) {
        if (Number(item.dataset.seq) <= upTo) setDelivery(item, "read", "Read");
      }
    },

    onStatus(message) {
      if (message.last_seq > this.lastSeq && this.resumeAskedAt !== this.lastSeq) {
        this.resumeAskedAt = this.lastSeq;
        this.transmit({ type: "resume", last_seq: this.lastSeq });
      }
      if (typeof message.authenticated === "boolean") {
        session.authenticated = message.authenticated;
        refreshAuth();
      }
      this.applyStatus(message.status, message.assigned_csr);
    },

    applyStatus(status, csrName) {
      if (!status) return;
      session.status = status;
      if (csrName) session.csrName = csrName;
      if (status === "active") {
        session.queue = null;
        session.waitChoice = null;
        renderWaitChoice();
      }
      if (ENDED_STATUSES.includes(status)) {
        this.finish(session.leftMessage ? "Thank you: your message was left for follow-up. We'll get back to you." : "Chat ended");
        return;
      }
      saveSession();
      updateHeader();
      updateStatus();
    },

    /** The chat is over: stop reconnecting, keep the conversation on screen. */
    finish(note) {
      this.endRequested = false;
      auth.pending = false;
      this.typingStop();
      this.hideRemoteTyping();
      for (const item of ui.log.querySelectorAll('li[data-pending="1"]')) {
        delete item.dataset.pending;
        setDelivery(item, "failed", "Not sent: the chat has ended");
      }
      session.outbox = [];
      session.mode = "ended";
      session.endNote = note;
      session.waitChoice = null;
      session.typingPreview = false;
      saveSession();
      // Keep the socket: the server closes it; reconnecting stops because mode is ended.
      setMode();
      showPreviewNotice();
    },

    onClose(code) {
      this.socket = null;
      this.stopHeartbeat();
      this.replaying = false;
      this.hideRemoteTyping();
      if (code === CLOSE_GONE) {
        if (session.mode !== "ended") this.finish("This chat has ended");
        this.setConn("closed");
        return;
      }
      if (code === CLOSE_FORBIDDEN) {
        this.finish("This chat link is no longer valid. Start a new chat.");
        this.setConn("closed");
        return;
      }
      if (session.mode !== "live") {
        this.setConn("closed");
        return;
      }
      this.scheduleReconnect();
    },

    /** 1 s, 2 s, 4 s … up to 10 s, each ±25 % (never above 10 s) so that many widgets
     *  don't come back at once. */
    scheduleReconnect() {
      this.clearTimers();
      if (navigator.onLine === false) {
        this.setConn("offline");
        return;
      }
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
      const delay = Math.min(BACKOFF_MAX_MS, Math.round(base * (0.75 + Math.random() * 0.5)));
      this.attempt += 1;
      this.retryAt = Date.now() + delay;
      this.setConn("retrying");
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
      this.countdownTimer = window.setInterval(() => updateStatus(), 1000);
    },

    retryInSeconds() {
      return Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000));
    },

    clearTimers() {
      window.clearTimeout(this.retryTimer);
      window.clearInterval(this.countdownTimer);
      this.retryTimer = null;
      this.countdownTimer = null;
    },

    startHeartbeat() {
      this.stopHeartbeat();
      this.heartbeatTimer = window.setInterval(() => {
        if (!this.transmit({ type: "heartbeat" })) return;
        if (this.heartbeatDeadline === null) {
          this.heartbeatDeadline = window.setTimeout(() => {
            // No answer: the connection is dead even if the browser hasn't noticed.
            this.drop();
            this.onClose(1006);
          }, HEARTBEAT_TIMEOUT_MS);
        }
      }, HEARTBEAT_EVERY_MS);
    },

    gotSignOfLife() {
      window.clearTimeout(this.heartbeatDeadline);
      this.heartbeatDeadline = null;
    },

    stopHeartbeat() {
      window.clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
      this.gotSignOfLife();
    },

    // The browser's own view of the network.
    wentOffline() {
      if (session.mode !== "live") return;
      this.drop();
      this.clearTimers();
      this.replaying = false;
      this.setConn("offline");
    },

    cameOnline() {
      if (session.mode !== "live" || this.socket) return;
      this.attempt = 0;
      this.connect();
    },

    send(text, files = []) {
      const id = uuid();
      const entry = { id, text, files };
      session.outbox.push(entry);
      saveSession();
      const item = messageItem({ kind: "customer", text, at: new Date().toISOString(), files });
      item.dataset.pending = "1";
      item.dataset.clientId = id;
      item.cpwFiles = files;
      byClientId.set(id, item);
      appendPending(item);
      this.typingStop();
      const sent = !this.replaying && this.transmit(sendFrame(entry));
      setDelivery(item, "sending", sent ? "Sending…" : "Waiting for connection…");
    },

    outboxRemove(id) {
      const before = session.outbox.length;
      session.outbox = session.outbox.filter((entry) => entry.id !== id);
      if (session.outbox.length !== before) saveSession();
    },

    /** Restore the messages typed but not yet stored (after a reload). */
    restoreOutbox() {
      for (const entry of session.outbox) {
        const item = messageItem({ kind: "customer", text: entry.text, files: entry.files });
        item.dataset.pending = "1";
        item.dataset.clientId = entry.id;
        byClientId.set(entry.id, item);
        setDelivery(item, "sending", "Waiting for connection…");
        appendPending(item);
      }
    },

    /** Send the identity token; the answer is `authenticate.ok` or an `error`. */
    authenticate(token) {
      if (!this.transmit({ type: "authenticate", token })) {
        setAuthState(null, "error", "Not connected right now. Choose Sign in again in a moment.");
        return;
      }
      auth.pending = true;
      refreshAuth();
      setAuthState(null, "busy", "Signing you in…");
    },

    onAuthenticated() {
      auth.pending = false;
      session.authenticated = true;
      saveSession();
      refreshAuth();
    },

    end() {
      if (session.mode !== "live" || ui.endButton.getAttribute("aria-disabled") === "true") return;
      this.endRequested = true;
      // aria-disabled, not disabled: a disabled button drops the keyboard focus to the page.
      ui.endButton.setAttribute("aria-disabled", "true");
      if (!this.replaying && this.transmit({ type: "end" })) return;
      notice("The chat ends as soon as the connection is back.");
    },

    typingInput() {
      if (session.mode !== "live") return;
      if (session.typingPreview) return this.previewInput();
      const now = Date.now();
      if (!this.typingActive || now - this.typingSentAt > TYPING_REPEAT_MS) {
        if (this.transmit({ type: "typing", active: true })) {
          this.typingActive = true;
          this.typingSentAt = now;
        }
      }
      window.clearTimeout(this.typingIdleTimer);
      this.typingIdleTimer = window.setTimeout(() => this.typingStop(), TYPING_IDLE_MS);
    },

    typingStop() {
      window.clearTimeout(this.typingIdleTimer);
      window.clearTimeout(this.previewTimer);
      if (!this.typingActive) return;
      this.typingActive = false;
      // With the preview on, "" clears the text the agent sees.
      this.transmit(session.typingPreview ? { type: "typing", active: false, text: "" } : { type: "typing", active: false });
    },

    /** The typing preview: the text so far, at most every PREVIEW_EVERY_MS, and once
     * more when the customer pauses (the trailing send). Doubles as the typing signal. */
    previewInput() {
      window.clearTimeout(this.previewTimer);
      const wait = (this.previewSentAt || 0) + PREVIEW_EVERY_MS - Date.now();
      if (wait <= 0) this.previewSend();
      else this.previewTimer = window.setTimeout(() => this.previewSend(), wait);
      window.clearTimeout(this.typingIdleTimer);
      this.typingIdleTimer = window.setTimeout(() => this.typingStop(), TYPING_IDLE_MS);
    },

    previewSend() {
      if (session.mode !== "live") return;
      const text = ui.input.value;
      if (!text) return this.typingStop();
      if (this.transmit({ type: "typing", active: true, text })) {
        this.typingActive = true;
        this.previewSentAt = Date.now();
      }
      return undefined;
    },

    /** Tell the CSR we have read up to here (when the panel is open and visible). */
    markRead() {
      if (session.mode !== "live" || this.replaying || ui.panel.hidden) return;
      if (document.visibilityState === "hidden" || this.lastSeq <= this.readSent) return;
      if (this.transmit({ type: "read", seq: this.lastSeq })) this.readSent = this.lastSeq;
    },
  };

  // --- Co-browse: the consent prompt, the recorder and the End button are in
  // cobrowse/static/cobrowse/customer.js, loaded the first time the chat names a session
  // (data-cobrowse-src, else next to this file); it gets every `cobrowse.state` frame.
  const cobrowseFrames = [];

  function cobrowse(frame) {
    const context = { interactionId: session.interactionId, token: session.token, wsUrl: session.wsUrl };
    if (window.PortalCobrowse) return window.PortalCobrowse.handle(frame, context);
    cobrowseFrames.push(frame);
    if (cobrowseFrames.length > 1) return undefined; // loading already
    const tag = document.createElement("script");
    tag.src = data.cobrowseSrc || new URL("../cobrowse/customer.js", (script && script.src) || window.location.href).href;
    tag.addEventListener("load", () => {
      while (cobrowseFrames.length && window.PortalCobrowse) window.PortalCobrowse.handle(cobrowseFrames.shift(), context);
    });
    document.head.append(tag);
    return undefined;
  }

  // --- The typing preview notice and the satisfaction survey --------------------------

  function showPreviewNotice() {
    const on = Boolean(session.typingPreview) && session.mode === "live";
    ui.previewNotice.hidden = !on;
    ui.input.setAttribute("aria-describedby", on ? "cpw-hint cpw-preview-notice" : "cpw-hint");
  }

  // csat.js next to this file, loaded the first time the server asks (`csat.request`).
  let survey = null;
  const csatFrames = [];

  async function csat(frame) {
    csatFrames.push(frame);
    if (csatFrames.length > 1) return; // loading already
    if (!survey) {
      try {
        const mod = await import(new URL("csat.js", (script && script.src) || window.location.href).href);
        survey = mod.wireSurvey({ panel: ui.panel, before: ui.restart, transmit: (f) => live.transmit(f) });
      } catch (error) {
        csatFrames.length = 0;
        return;
      }
    }
    while (csatFrames.length) {
      const next = csatFrames.shift();
      if (next.type === "csat.request") survey.request(next);
      else survey.answered(next);
    }
  }

  // --- Start --------------------------------------------------------------------------

  async function init() {
    // Files and emoji (attachments.js next to this file): loaded before the panel is
    // built, so replayed messages show their files; without it the chat still works.
    try {
      ext = await import(new URL("attachments.js", (script && script.src) || window.location.href).href);
    } catch (error) {
      ext = null;
    }
    build();
    setMode();
    if (session.mode === "bot") {
      bot.restore();
    } else {
      if (session.mode === "ended") {
        // The server may still show the ended chat for a while; try once, quietly.
        ui.endButton.hidden = true;
      }
      live.restoreOutbox();
      live.connect();
    }
    window.addEventListener("message", onWindowMessage);
    window.addEventListener("offline", () => live.wentOffline());
    window.addEventListener("online", () => live.cameOnline());
    if (session.open) openPanel({ focus: false });
    saveSession();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
