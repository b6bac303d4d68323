/*
 * The customer widget's attachments and emoji (docs/attachments.md), loaded by widget.js
 * from the same folder: the attach button, drag and drop and paste into the composer,
 * the tray of uploads, thumbnails and file cards with a lightbox, the emoji picker. The
 * shared parts are attachments-core.js; the upload authenticates with the chat's
 * customer token.
 */
import { renderFiles, wireComposer, wireEmojiPicker } from "./attachments-core.js";

const STYLESHEET = new URL("attachments.css", import.meta.url).href;
const NOT_LIVE = { enabled: false, reason: "You can send files once you are connected to our team.", max_file_bytes: 0, max_files: 10 };

function ensureStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = STYLESHEET;
  document.head.append(link);
}

/** The portal's origin and path prefix, from the customer socket's URL. */
function portalUrl(wsUrl, path) {
  const socket = new URL(wsUrl, window.location.href);
  const scheme = socket.protocol === "wss:" ? "https:" : socket.protocol === "ws:" ? "http:" : socket.protocol;
  const prefix = socket.pathname.split("/ws/customer/")[0];
  return `${scheme}//${socket.host}${prefix}${path}`;
}

/**
 * Called by widget.js once its composer exists.
 *   ui: the widget's elements (composer, input, send, root, status)
 *   session(): the widget's session ({mode, interactionId, token, wsUrl})
 * Returns {take(), setPolicy(policy), modeChanged(mode), renderFiles(files)}.
 */
export function wireWidget({ ui, session }) {
  ensureStylesheet();
  const tools = document.createElement("div");
  tools.className = "cpw-tools";
  ui.composer.insertBefore(tools, ui.send);
  const said = document.createElement("p");
  said.className = "att-visually-hidden att-said";
  // A live region without role=status: the widget's one status is its connection line.
  said.setAttribute("aria-live", "polite");
  ui.composer.append(said);
  const announce = (text) => {
    said.textContent = "";
    setTimeout(() => { said.textContent = text; }, 30);
  };
  const composer = wireComposer({
    form: ui.composer,
    input: ui.input,
    toolbar: tools,
    classPrefix: "cpw",
    uploadUrl: () => {
      const s = session();
      if (s.mode !== "live" || !s.interactionId || !s.wsUrl) return null;
      return portalUrl(s.wsUrl, `/attachments/chats/${s.interactionId}/`);
    },
    headers: () => ({ Authorization: `Customer ${session().token}` }),
    announce,
    host: ui.root,
    idPrefix: "cpw-att",
  });
  wireEmojiPicker({ toolbar: tools, input: ui.input, host: ui.composer, idPrefix: "cpw" });
  composer.setPolicy(NOT_LIVE);
  return {
    take: () => composer.take(),
    clear: () => composer.clear(),
    setPolicy: (policy) => composer.setPolicy(policy || NOT_LIVE),
    modeChanged: (mode) => {
      if (mode !== "live") {
        composer.clear();
        composer.setPolicy(NOT_LIVE);
      }
    },
    renderFiles: (files) => renderFiles(files, { host: ui.root }),
  };
}
