// Internal notes in the chat panel: the composer's "Internal note" toggle. While it is
// pressed the composer looks different (a yellow banner says the customer does not see
// it) and a submit sends a `note` frame instead of a `send` (chat-panel.js reads
// panel.noteMode). Notes carry no files (portal.css hides the attach button; files already
// in the tray wait for the next message) and send no "is typing" to the customer. A manager
// watching a chat gets the composer in note mode only (panel.setNotesOnly).

const NOTE_PLACEHOLDER = "Write an internal note (the customer does not see it)";

/** Wire the note toggle of `panel` (a ChatPanel). */
export function wireNotes(panel) {
  const form = panel.f("composer");
  const toggle = panel.f("note-toggle");
  const banner = panel.f("note-banner");
  if (!form || !toggle || !banner) return;
  const box = form.querySelector("textarea");
  const label = panel.f("composer-label");
  const submit = form.querySelector('button[type="submit"]');
  const plain = { placeholder: box.placeholder, label: label ? label.textContent : "", submit: submit.textContent, describedBy: box.getAttribute("aria-describedby") || "" };
  let notesOnly = false;
  panel.noteMode = false;

  const set = (on) => {
    panel.noteMode = on;
    toggle.setAttribute("aria-pressed", String(on));
    form.classList.toggle("composer--note", on);
    banner.hidden = !on;
    box.placeholder = on ? NOTE_PLACEHOLDER : plain.placeholder;
    if (label) label.textContent = on ? "Internal note" : plain.label;
    submit.textContent = on ? "Add note" : plain.submit;
    // The banner's words are read with the field, so the mode is never told by colour only.
    box.setAttribute("aria-describedby", on ? `${banner.id} ${plain.describedBy}`.trim() : plain.describedBy);
    if (on) panel.typing(false); // stop a "typing" the customer may have been shown
  };

  /** Note mode on or off (a restored draft of a note); a notes-only panel stays so. */
  panel.setNoteMode = (on) => {
    if (!notesOnly) set(on);
  };

  panel.setNotesOnly = (on) => {
    if (on === notesOnly) return;
    notesOnly = on;
    toggle.hidden = on;
    set(on);
  };

  toggle.addEventListener("click", () => {
    set(!panel.noteMode);
    box.focus();
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && panel.noteMode && !notesOnly) { event.preventDefault(); set(false); }
  });
  panel.applyMode(); // a manager's panel may already be in notes-only mode
}
