// The interaction window at /interactions/<id>/: one chat panel, live for the CSR
// handling it, watched read-only by a CSR manager, or read-only once the chat ended.
import { ChatPanel } from "./chat-panel.js";

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
const panel = new ChatPanel(document.querySelector("[data-panel]"), data, { isVisible: () => true, toast });
window.portalPanel = panel;
