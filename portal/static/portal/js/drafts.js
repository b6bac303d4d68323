// Drafts: what the CSR (or a manager writing a note) has typed in a chat's message box and
// not sent, kept per chat in localStorage (keyed by user and interaction), so it survives
// switching tabs, a tab being rebuilt and a reload of the page. A draft written as an
// internal note comes back as a note (never as a message to the customer). Sending it or
// the chat ending drops it; a draft of a chat that left this user some other way
// (transferred away) is dropped after DRAFT_DAYS. Files waiting in the attachments tray
// are not kept.

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

function write(key, text, note = false) {
  try {
    if (text) localStorage.setItem(key, JSON.stringify({ text, note, at: Date.now() }));
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

/** Keep the draft of `panel`'s message box: a live chat of the user `userId`, or the
 *  note composer of a manager watching one. */
export function wireDraft(panel, userId) {
  pruneOld(userId);
  const form = panel.root.querySelector('[data-field="composer"]');
  const box = form && form.querySelector("textarea");
  if (!box || (panel.data.mode !== "live" && panel.data.mode !== "observer")) return;
  const key = KEY(userId, panel.id);
  const saved = read(key);
  if (saved && !box.value) {
    if (saved.note && panel.setNoteMode) panel.setNoteMode(true);
    box.value = saved.text;
  }
  const keep = () => write(key, box.value, Boolean(panel.noteMode));
  box.addEventListener("input", keep);
  // The panel's own handlers run first (they were added first): an empty box means the
  // text went out; a refused send (too long, uploads still going) keeps the draft; the
  // note toggle has switched the mode the draft is kept in.
  form.addEventListener("submit", keep);
  const toggle = panel.root.querySelector('[data-field="note-toggle"]');
  if (toggle) toggle.addEventListener("click", keep);
  panel.root.addEventListener("chatframe", (event) => {
    const frame = event.detail;
    if (frame.type === "interaction.status" && (frame.status === "ended" || frame.status === "abandoned")) {
      write(key, "");
      box.value = "";
    }
  });
}
