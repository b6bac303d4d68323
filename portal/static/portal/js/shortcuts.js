// Keyboard shortcuts of My Work, listed in the help overlay (#shortcuts-help, opened with
// `?` or the "Keyboard shortcuts" button). The Alt combinations work everywhere, also
// while typing in the message box; `?` and `/` work only when focus is not in a field, so
// they never take a character the CSR is typing. Letters are matched by physical key
// (event.code), so they work with any keyboard layout and with macOS's Option key.
// Alt+Shift+T is Chrome's "focus the toolbar" key, so Transfer is Alt+Shift+X; Alt+←/→
// are the browser's Back/Forward, so chat tabs move with Alt+Page Down/Up.

const $ = (id) => document.getElementById(id);

function typingIn(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["button", "checkbox", "radio", "range", "reset", "submit", "color", "file", "image"].includes(target.type);
  }
  return false;
}

/** The chat panel on screen (the selected tab's), if any. */
function frontPanel() {
  return document.querySelector("#chat-panels > [data-panel]:not([hidden])");
}

function say(text) {
  const note = $("shortcut-note");
  note.textContent = "";
  // A fresh text node each time, so the same message is announced again.
  requestAnimationFrame(() => { note.textContent = text; });
}

function liveComposer(panel) {
  return panel && panel.querySelector('[data-field="composer"]:not([hidden]) textarea');
}

function acceptOffer() {
  const dialog = $("offer");
  const accept = $("offer-accept");
  if (!dialog.open || accept.disabled || dialog.hasAttribute("data-closed")) { say("No incoming chat to accept."); return; }
  accept.click();
}

function moveTab(step) {
  const tabs = [...document.querySelectorAll('#chat-tabs [role="tab"]')];
  if (tabs.length < 2) { say(tabs.length ? "There is only one chat." : "No chats open."); return; }
  const index = tabs.findIndex((tab) => tab.getAttribute("aria-selected") === "true");
  const next = tabs[(index + step + tabs.length) % tabs.length];
  const wasTyping = typingIn(document.activeElement);
  next.click();
  // Typing stays typing: into the next chat's box when there is one; else on the tab.
  const box = wasTyping && liveComposer(frontPanel());
  (box || next).focus();
}

function focusComposer() {
  const box = liveComposer(frontPanel());
  if (!box) { say("No chat to write in."); return; }
  box.focus();
}

function openPhrases() {
  const panel = frontPanel();
  const tab = panel && panel.querySelector('[data-side-tab="assist"]');
  if (!tab) { say("No chat open."); return; }
  const pane = panel.querySelector('[data-field="context-pane"]');
  if (pane && pane.hidden) panel.querySelector('[data-action="context"]').click();
  tab.click();
  const search = panel.querySelector('[data-field="phrase-search"]');
  (search || tab).focus();
}

function action(name) {
  const panel = frontPanel();
  const item = panel && panel.querySelector(`[data-menu="${name}"]`);
  if (!item) { say("No chat open."); return; }
  if (item.getAttribute("aria-disabled") === "true") { say(item.title || "Not possible in this chat."); return; }
  item.click(); // the Actions menu's own handler opens the transfer or end dialog
}

// Alt+Shift+<code> → action, and Alt+<key>.
const ALT_SHIFT = {
  KeyA: acceptOffer,
  KeyC: focusComposer,
  KeyP: openPhrases,
  KeyX: () => action("transfer"),
  KeyE: () => action("end"),
};
const ALT = {
  PageDown: () => moveTab(1),
  PageUp: () => moveTab(-1),
};

function openHelp() {
  const help = $("shortcuts-help");
  if (!help.open) help.showModal();
}

function onKey(event) {
  if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey) return;
  // A dialog is open (a pop-up, a confirmation, this help): only the offer's Accept key works.
  const modal = document.querySelector("dialog[open]");
  if (event.altKey) {
    const run = event.shiftKey ? ALT_SHIFT[event.code] : ALT[event.key];
    if (!run) return;
    if (modal && !(modal.id === "offer" && run === acceptOffer)) return;
    event.preventDefault();
    run();
    return;
  }
  if (modal || typingIn(event.target)) return;
  if (event.key === "?") { event.preventDefault(); openHelp(); }
  else if (event.key === "/") { event.preventDefault(); focusComposer(); }
  // Escape closes the help overlay as it closes every <dialog>: the browser's own.
}

/** Tab and Shift+Tab go round the controls of `dialog`: a modal <dialog> alone lets
 *  focus leave the page for the browser's own toolbar. */
function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const controls = [...dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])")]
      .filter((node) => !node.disabled && !node.hidden);
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  });
}

export function wireShortcuts() {
  document.addEventListener("keydown", onKey);
  const help = $("shortcuts-help");
  trapFocus(help);
  $("shortcuts-open").addEventListener("click", openHelp);
  help.querySelector("[data-close]").addEventListener("click", () => help.close());
}
