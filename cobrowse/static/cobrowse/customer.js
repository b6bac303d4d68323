/*
 * Co-browse on the customer's side: the consent prompt, the "sharing" bar with its End
 * button, the recorder and the CSR's pointer. The chat widget (chat/static/chat/widget.js)
 * loads this file the first time its chat socket names a co-browse session
 * (`cobrowse.state`) and hands it every such frame: window.PortalCobrowse.handle(frame,
 * {interactionId, token, wsUrl}).
 *
 * Nothing is recorded before the customer clicks Allow: only then is rrweb's recorder
 * (vendor/rrweb-record.min.js) loaded and started. The consent is kept for this tab
 * (sessionStorage), so the next page of the site that carries the widget goes on sharing
 * while the session lasts, and stops when it ends.
 *
 * Masking happens here, in the customer's browser, before anything leaves it
 * (docs/cobrowse.md, "For host-site owners"): password fields; fields and elements
 * marked with data-cobrowse-mask or the class cobrowse-mask; fields that look like card
 * numbers, security codes (CVV) or national ids, by their name, id, autocomplete or
 * label, and any value that is a valid card number. Elements marked data-cobrowse-block
 * or cobrowse-block (or rrweb's rr-block) are not recorded at all: the CSR sees an empty
 * box of the same size. All text is set with textContent.
 */
(() => {
  "use strict";

  if (window.PortalCobrowse) return;
  const script = document.currentScript;
  const base = (script && script.src) || window.location.href;
  const RECORDER_SRC = new URL("vendor/rrweb-record.min.js", base).href;
  const STYLE_HREF = new URL("customer.css", base).href;
  const CONSENT_KEY = (id) => `portal-cobrowse:${id}`;
  const FLUSH_MS = 50;
  const HEARTBEAT_MS = 10000;
  const BACKOFF_MS = [1000, 2000, 4000, 8000];

  const MASK_SELECTOR = "[data-cobrowse-mask], .cobrowse-mask";
  const BLOCK_SELECTOR = "[data-cobrowse-block], .cobrowse-block, [data-cobrowse-ui]";
  // Names, ids, autocomplete tokens and labels of fields that hold secrets.
  const SENSITIVE_HINT = /(card.?num|cc-?num|cc-number|credit.?card|card.?no|\bpan\b|cvv|cvc|cvn|csc|cc-csc|security.?code|card.?code|ssn|social.?security|national.?(id|insurance|number)|\bnin\b|passport|tax.?id|\btin\b|iban|account.?number|sort.?code|\bpin\b|one-time-code|otp)/i;
  // Input types rrweb hands to maskInputFn (it then decides field by field).
  const MASK_INPUT_OPTIONS = {
    password: true, text: true, email: true, tel: true, number: true, search: true, url: true,
    textarea: true, date: false, select: false,
  };

  function luhnValid(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i += 1) {
      let d = digits.charCodeAt(digits.length - 1 - i) - 48;
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function looksLikeCard(text) {
    if (!/^[\d\s-]{12,23}$/.test(text)) return false;
    const digits = text.replace(/\D/g, "");
    return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
  }

  function labelText(element) {
    const parts = [];
    if (element.labels) for (const label of element.labels) parts.push(label.textContent || "");
    parts.push(element.getAttribute("aria-label") || "", element.getAttribute("placeholder") || "");
    return parts.join(" ");
  }

  /** Whether a field's value must not leave the browser. */
  function sensitive(element, text) {
    if (!element || !element.getAttribute) return true;
    const type = (element.getAttribute("type") || "").toLowerCase();
    if (type === "password" || element.hasAttribute("data-rr-is-password")) return true;
    if (element.closest && element.closest(MASK_SELECTOR)) return true;
    const hints = [element.name, element.id, element.getAttribute("autocomplete"), labelText(element)].join(" ");
    if (SENSITIVE_HINT.test(hints)) return true;
    return looksLikeCard(text || "");
  }

  function maskInput(text, element) {
    return sensitive(element, text) ? "*".repeat(text.length) : text;
  }

  // --- UI (our own elements are blocked from the recording) ----------------------------

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function ensureStyle() {
    if (document.querySelector("link[data-cobrowse-style]")) return;
    document.head.append(el("link", { rel: "stylesheet", href: STYLE_HREF, "data-cobrowse-style": "" }));
  }

  const ui = {};

  function showPrompt(state) {
    hidePrompt();
    ensureStyle();
    const title = el("p", { className: "cobrowse-consent__title", id: "cobrowse-consent-title", text: `${state.csr_name} would like to see this page with you` });
    const help = el("p", {
      className: "cobrowse-consent__help",
      id: "cobrowse-consent-help",
      text: "They will see this page and the other pages of this site you open, as you scroll and type, " +
        "but not passwords, card numbers or other hidden fields. They can point at things; they cannot click or type for you. " +
        "You can stop at any time.",
    });
    const allow = el("button", { type: "button", className: "cobrowse-btn cobrowse-btn--primary", text: "Allow" });
    const decline = el("button", { type: "button", className: "cobrowse-btn", text: "Decline" });
    allow.addEventListener("click", () => answer(state, true));
    decline.addEventListener("click", () => answer(state, false));
    ui.prompt = el("div", {
      className: "cobrowse-consent", role: "alertdialog", "aria-modal": "false",
      "aria-labelledby": title.id, "aria-describedby": help.id, "data-cobrowse-ui": "",
    }, [title, help, el("div", { className: "cobrowse-consent__actions" }, [decline, allow])]);
    document.body.append(ui.prompt);
    allow.focus();
  }

  function hidePrompt() {
    if (ui.prompt) ui.prompt.remove();
    ui.prompt = null;
  }

  function showBar(state) {
    ensureStyle();
    if (ui.bar) {
      ui.barText.textContent = `Sharing this page with ${state.csr_name}`;
      return;
    }
    ui.barText = el("span", { text: `Sharing this page with ${state.csr_name}` });
    const end = el("button", { type: "button", className: "cobrowse-btn cobrowse-btn--danger", text: "End co-browse" });
    end.addEventListener("click", () => {
      end.disabled = true;
      // Not connected yet (just allowed, or between two pages): sent once it is.
      if (!transmit({ type: "end" })) { pendingEnd = true; connect(); }
    });
    ui.bar = el("div", { className: "cobrowse-bar", role: "region", "aria-label": "Co-browse", "data-cobrowse-ui": "" },
      [el("span", { className: "cobrowse-bar__dot", "aria-hidden": "true" }), ui.barText, end]);
    document.body.append(ui.bar);
  }

  function hideBar() {
    if (ui.bar) ui.bar.remove();
    ui.bar = null;
  }

  function notice(text) {
    if (!text) return;
    ensureStyle();
    if (ui.notice) ui.notice.remove();
    ui.notice = el("div", { className: "cobrowse-notice", role: "status", "data-cobrowse-ui": "", text });
    document.body.append(ui.notice);
    const node = ui.notice;
    window.setTimeout(() => node.remove(), 6000);
  }

  // --- The CSR's pointer ---------------------------------------------------------------

  function pointer(frame) {
    ensureStyle();
    if (!ui.pointer) {
      ui.pointer = el("div", { className: "cobrowse-pointer", "data-cobrowse-ui": "", "aria-hidden": "true" });
      ui.pointer.append(el("span", { className: "cobrowse-pointer__label", text: current ? current.csr_name : "CSR" }));
      document.body.append(ui.pointer);
    }
    ui.pointer.hidden = !frame.visible;
    ui.pointer.style.left = `${frame.x}px`;
    ui.pointer.style.top = `${frame.y}px`;
    if (frame.highlight) {
      const ring = el("div", { className: "cobrowse-highlight", "data-cobrowse-ui": "", "aria-hidden": "true" });
      ring.style.left = `${frame.x}px`;
      ring.style.top = `${frame.y}px`;
      document.body.append(ring);
      window.setTimeout(() => ring.remove(), 2500);
    }
  }

  function hidePointer() {
    if (ui.pointer) ui.pointer.remove();
    ui.pointer = null;
  }

  // --- The session's socket ------------------------------------------------------------

  let current = null; // the session state last heard of
  let context = null; // {interactionId, token, wsUrl}
  let socket = null;
  let pendingConsent = null; // true / false: sent once the socket opens
  let pendingEnd = false; // End clicked while the socket was not open
  let attempt = 0;
  let heartbeat = null;
  let limits = { max_snapshot_bytes: 1000000, max_frame_bytes: 256000 };

  function socketUrl(sessionId) {
    const url = new URL(context.wsUrl, window.location.href);
    url.pathname = `/ws/cobrowse/${sessionId}/customer/`;
    url.search = "";
    url.searchParams.set("token", context.token);
    return url.toString();
  }

  function connect() {
    if (!current || socket) return;
    const sessionId = current.session_id;
    const ws = new WebSocket(socketUrl(sessionId));
    socket = ws;
    ws.addEventListener("open", () => {
      attempt = 0;
      heartbeat = window.setInterval(() => transmit({ type: "heartbeat" }), HEARTBEAT_MS);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (error) { return; }
      if (frame && typeof frame === "object") onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      window.clearInterval(heartbeat);
      stopRecording();
      if (event.code >= 4400 || !current || current.session_id !== sessionId || !isOpen(current)) {
        if (event.code >= 4400) finish(null);
        return;
      }
      const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      attempt += 1;
      window.setTimeout(connect, delay);
    });
  }

  function transmit(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function disconnect() {
    const ws = socket;
    socket = null;
    window.clearInterval(heartbeat);
    if (ws) try { ws.close(1000); } catch (error) { /* closed */ }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        if (frame.limits) limits = frame.limits;
        if (pendingEnd) {
          if (pendingConsent) transmit({ type: "consent", allow: true });
          pendingConsent = null;
          transmit({ type: "end" });
          return;
        }
        if (frame.status === "requested" && pendingConsent !== null) {
          transmit({ type: "consent", allow: pendingConsent });
        } else if (frame.status === "active" && allowedHere(frame.session_id)) {
          startRecording();
        }
        pendingConsent = null;
        return;
      case "started":
        return startRecording();
      case "state":
        if (frame.status === "active") {
          if (current) current.status = "active";
          return startRecording();
        }
        if (!isOpen(frame)) return finish(frame.message);
        return undefined;
      case "pointer":
        return pointer(frame);
      case "snapshot.request":
        if (recorder && window.rrwebRecord) window.rrwebRecord.record.takeFullSnapshot(true);
        return undefined;
      default:
        return undefined; // heartbeat.ack, error
    }
  }

  // --- Consent ---------------------------------------------------------------------------

  function allowedHere(sessionId) {
    try { return window.sessionStorage.getItem(CONSENT_KEY(sessionId)) === "allowed"; } catch (error) { return false; }
  }

  function remember(sessionId, value) {
    try { window.sessionStorage.setItem(CONSENT_KEY(sessionId), value); } catch (error) { /* private mode */ }
  }

  function answer(state, allow) {
    hidePrompt();
    remember(state.session_id, allow ? "allowed" : "declined");
    pendingConsent = allow;
    if (socket && socket.readyState === WebSocket.OPEN) {
      transmit({ type: "consent", allow });
      pendingConsent = null;
    } else {
      connect();
    }
    if (allow) showBar(state);
  }

  // --- Recording ---------------------------------------------------------------------------

  let recorder = null; // rrweb's stop function while recording
  let batch = [];
  let flushTimer = null;
  let loading = null;

  function loadRecorder() {
    if (window.rrwebRecord) return Promise.resolve();
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const tag = el("script", { src: RECORDER_SRC });
        tag.addEventListener("load", resolve);
        tag.addEventListener("error", reject);
        document.head.append(tag);
      });
    }
    return loading;
  }

  async function startRecording() {
    if (recorder || !current || !allowedHere(current.session_id)) return;
    showBar(current);
    recorder = () => {}; // starting
    try {
      await loadRecorder();
    } catch (error) {
      recorder = null;
      notice("Co-browse could not start: the recorder did not load.");
      return;
    }
    if (!socket || !current || current.status !== "active") { recorder = null; return; }
    batch = [];
    recorder = window.rrwebRecord.record(recordOptions(queue)) || null;
  }

  /** rrweb's options: what is masked and blocked, and how often moves are sampled. */
  function recordOptions(emit) {
    return {
      emit,
      maskInputOptions: MASK_INPUT_OPTIONS,
      maskInputFn: maskInput,
      maskTextSelector: MASK_SELECTOR,
      blockSelector: BLOCK_SELECTOR,
      inlineStylesheet: true,
      recordCanvas: false,
      collectFonts: false,
      sampling: { mousemove: 50, scroll: 100 },
      slimDOMOptions: {
        script: true, comment: true, headFavicon: true, headWhitespace: true, headMetaSocial: true,
        headMetaRobots: true, headMetaHttpEquiv: true, headMetaAuthorship: true, headMetaVerification: true,
      },
    };
  }

  function stopRecording() {
    window.clearTimeout(flushTimer);
    flushTimer = null;
    batch = [];
    if (typeof recorder === "function") {
      try { recorder(); } catch (error) { /* already stopped */ }
    }
    recorder = null;
  }

  function queue(event) {
    // A full snapshot goes alone with its meta event: flush what came before.
    if (event.type === 4) flush();
    batch.push(event);
    if (event.type === 2) { flush(); return; }
    if (!flushTimer) flushTimer = window.setTimeout(flush, FLUSH_MS);
  }

  function flush() {
    window.clearTimeout(flushTimer);
    flushTimer = null;
    if (!batch.length) return;
    const events = batch;
    batch = [];
    const text = JSON.stringify({ type: "events", events });
    const snapshot = events.some((event) => event.type === 2);
    const limit = snapshot ? limits.max_snapshot_bytes : limits.max_frame_bytes;
    const bytes = text.length > limit / 4 ? new TextEncoder().encode(text).length : text.length;
    if (snapshot && bytes > limit) {
      // Refused before anything is sent: the server ends the session and says why.
      transmit({ type: "too_large", bytes });
      stopRecording();
      return;
    }
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
  }

  // --- The session's life ------------------------------------------------------------------

  function isOpen(state) {
    return state.status === "requested" || state.status === "active";
  }

  function finish(message) {
    stopRecording();
    disconnect();
    hidePrompt();
    hideBar();
    hidePointer();
    if (current) remember(current.session_id, "over");
    current = null;
    pendingEnd = false;
    notice(message || "Co-browse has ended.");
  }

  function handle(frame, ctx) {
    if (!frame || frame.type !== "cobrowse.state" || !ctx || !ctx.token) return;
    context = ctx;
    if (!isOpen(frame)) {
      // The system messages are written for both sides, except these two.
      const said = { unanswered: "The request to share this page has expired.", declined: "You declined to share this page." };
      if (current && current.session_id === frame.session_id) finish(said[frame.status] || frame.message);
      else if (frame.status === "declined" || frame.status === "unanswered") hidePrompt();
      return;
    }
    if (current && current.session_id !== frame.session_id) finish(null);
    current = frame;
    if (frame.status === "requested") {
      let said = null;
      try { said = window.sessionStorage.getItem(CONSENT_KEY(frame.session_id)); } catch (error) { said = null; }
      if (!said) {
        if (!ui.prompt) showPrompt(frame);
      } else if (said === "allowed" || said === "declined") {
        // Answered on the page before this one: the answer may not have reached the server.
        pendingConsent = said === "allowed";
        connect();
      }
      return;
    }
    // active: sharing goes on in this tab if the customer allowed it here.
    if (allowedHere(frame.session_id)) {
      showBar(frame);
      if (socket) startRecording();
      else connect();
    }
  }

  // recordOptions and RECORDER_SRC are for the benchmark's snapshot measurement.
  window.PortalCobrowse = { handle, sensitive, looksLikeCard, recordOptions, RECORDER_SRC };
})();
