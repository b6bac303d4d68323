// Drafts: what the CSR has typed in a chat's message box and not sent, kept per chat in
// localStorage (keyed by user and interaction), so it survives switching tabs, a tab
// being rebuilt and a reload of the page. Sending the message or the chat ending drops
// it; a draft of a chat that left this CSR some other way (transferred away) is dropped
// after DRAFT_DAYS. Files waiting in the attachments tray are not kept.

const DRAFT_DAYS = 7;
const PREFIX = (userId) => `portal.draft.${userId}.`;
const KEY = (userId, interactionId) => `${PREFIX(userId)}${interactionId}`;

function read(key) {
  try {
    const saved = JSON.parse(localStorage.getItem(key) || "null");
    return saved && typeof saved.text === "string" ? saved : null;
  } catch (error) {
    return null;
  }
}

function write(key, text) {
  try {
    if (text) localStorage.setItem(key, JSON.stringify({ text, at: Date.now() }));
    else localStorage.removeItem(key);
  } catch (error) {
    // Storage full or blocked: the draft stays in the box, it just won't survive a reload.
  }
}

let pruned = false;
function pruneOld(userId) {
  if (pruned) return;
  pruned = true;
  const oldest = Date.now() - DRAFT_DAYS * 86400 * 1000;
  try {
    for (const key of Object.keys(localStorage)) {
      if (!key.startsWith(PREFIX(userId))) continue;
      const saved = read(key);
      if (!saved || !(saved.at >= oldest)) localStorage.removeItem(key);
    }
  } catch (error) {
    // Storage blocked: nothing was kept either.
  }
}

/** The draft kept for a chat ("" when none). */
export function draftOf(userId, interactionId) {
  const saved = read(KEY(userId, interactionId));
  return saved ? saved.text : "";
}

/** Keep the draft of `panel`'s message box (a live chat of the CSR `userId`). */
export function wireDraft(panel, userId) {
  pruneOld(userId);
  const form = panel.root.querySelector('[data-field="composer"]');
  const box = form && form.querySelector("textarea");
  if (!box || panel.data.mode !== "live") return;
  const key = KEY(userId, panel.id);
  const saved = draftOf(userId, panel.id);
  if (saved && !box.value) box.value = saved;
  box.addEventListener("input", () => write(key, box.value));
  // The panel's own submit handler runs first (it was added first): an empty box means
  // the text went out; a refused send (too long, uploads still going) keeps the draft.
  form.addEventListener("submit", () => write(key, box.value));
  panel.root.addEventListener("chatframe", (event) => {
    const frame = event.detail;
    if (frame.type === "interaction.status" && (frame.status === "ended" || frame.status === "abandoned")) {
      write(key, "");
      box.value = "";
    }
  });
}
