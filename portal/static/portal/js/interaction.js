// The interaction window at /interactions/<id>/: one chat panel, live for the CSR
// handling it, watched read-only by a CSR manager, or read-only once the chat ended.
import { ChatPanel } from "./chat-panel.js";
import { wireDraft } from "./drafts.js";
import { announcePanel } from "./notifications.js";
import { startWrapup } from "./wrapup.js";

const data = JSON.parse(document.getElementById("panel-data").textContent);
const toastBox = document.createElement("div");
toastBox.className = "toast";
toastBox.setAttribute("role", "status");
toastBox.hidden = true;
document.body.append(toastBox);
let toastTimer;
function toast(text) {
  toastBox.textContent = text;
  toastBox.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toastBox.hidden = true; }, 6000);
}
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") panel.shown(); });
const section = document.querySelector("[data-panel]");
// The CSR's wrap-up of the chat, here as in My Work: once the chat ends while on this
// page, or on load when it is still open (the server says so: wrapup_form).
let wrapupAsked = false;
function wrapupShow() {
  if (wrapupAsked) return;
  wrapupAsked = true;
  startWrapup(section, data.id, { toast });
}
const panel = new ChatPanel(section, data, {
  isVisible: () => true,
  toast,
  onStatus: (status) => { if (data.mode === "live" && (status === "ended" || status === "abandoned")) wrapupShow(); },
});
window.portalPanel = panel;
if (data.wrapup_form) wrapupShow();
// What the CSR (or a manager's note) has typed and not sent survives a reload.
wireDraft(panel, Number(section.closest("[data-user-id]").dataset.userId));
// The CSR working the chat here hears of the customer's messages while the page is hidden.
if (data.mode === "live") announcePanel(panel, { name: data.customer.name });
