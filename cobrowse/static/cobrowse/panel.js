// Co-browse in the CSR's chat panel: starting it (Actions → Start co-browse and Add task
// → General → Co-Browsing Session both dispatch "addtask" with kind "cobrowse"), showing
// the session's state, and framing the viewer page (/cobrowse/<session>/viewer/), which
// holds the live page, the pointer and End co-browse. The session's state arrives on
// the chat socket as `cobrowse.state` (the panel's "chatframe" event); a panel that
// closes ends the session.
import { postJSON } from "../portal/js/util.js";

const OPEN = new Set(["requested", "active"]);
const RUNNING = "A co-browse session is already on in this chat";

export function wireCobrowse(panel) {
  const root = panel.root;
  const region = root.querySelector('[data-field="cobrowse"]');
  if (!region) return;
  const frame = region.querySelector('[data-field="cobrowse-frame"]');
  const stateLine = region.querySelector('[data-field="cobrowse-state"]');
  const sizeButton = region.querySelector('[data-action="cobrowse-size"]');
  const customer = () => (panel.data.customer && panel.data.customer.name) || "the customer";
  let session = null;
  let countdown = null;

  const mine = () => panel.data.mode === "live";

  function menuReason() {
    if (session && OPEN.has(session.status)) return RUNNING;
    return panel.data.actions.cobrowse || "";
  }

  function showState() {
    clearInterval(countdown);
    if (!session || !OPEN.has(session.status)) {
      region.hidden = true;
      root.removeAttribute("data-cobrowse");
      if (frame.dataset.session) { frame.removeAttribute("src"); delete frame.dataset.session; }
      if (panel.setMenuReason) panel.setMenuReason("cobrowse", menuReason());
      return;
    }
    region.hidden = false;
    root.dataset.cobrowse = session.status;
    if (frame.dataset.session !== String(session.session_id)) {
      frame.dataset.session = String(session.session_id);
      frame.src = `/cobrowse/${session.session_id}/viewer/`;
    }
    if (session.status === "requested") {
      const until = Date.parse(session.requested_at || new Date().toISOString()) + 1000 * (session.consent_timeout_seconds || 60);
      const tick = () => {
        const left = Math.max(0, Math.round((until - Date.now()) / 1000));
        stateLine.textContent = `Asked ${customer()} to share their page: waiting for an answer (${left} s).`;
      };
      tick();
      countdown = setInterval(tick, 1000);
    } else {
      stateLine.textContent = `Co-browsing with ${customer()}${session.csr_name && !mine() ? ` (${session.csr_name})` : ""}.`;
    }
    if (panel.setMenuReason) panel.setMenuReason("cobrowse", menuReason());
  }

  function apply(state) {
    const was = session;
    session = state;
    if (!OPEN.has(state.status) && was && was.session_id === state.session_id && state.message && panel.toast) {
      panel.toast(state.message);
    }
    showState();
  }

  async function start(via) {
    if (session && OPEN.has(session.status)) { region.scrollIntoView({ block: "nearest" }); return; }
    try {
      apply(await postJSON(`/portal-api/interactions/${panel.id}/cobrowse/`, { via }));
      frame.focus();
    } catch (e) {
      if (panel.toast) panel.toast(e.message);
    }
  }

  root.addEventListener("addtask", (event) => {
    if (event.detail && event.detail.kind === "cobrowse") start(event.detail.via === "add_task" ? "add_task" : "actions");
  });
  root.addEventListener("chatframe", (event) => {
    const data = event.detail;
    if (data.type === "cobrowse.state") {
      apply({ ...data, requested_at: data.status === "requested" ? new Date().toISOString() : (session && session.requested_at) });
    } else if (data.type === "interaction.status" && data.status !== "active") {
      panel.data.actions.cobrowse = data.status === "ended" || data.status === "abandoned" ? "This chat has ended" : "The chat is not active";
      showState();
    }
  });
  root.addEventListener("chatpanel:destroy", () => {
    clearInterval(countdown);
    if (session && OPEN.has(session.status) && mine()) {
      postJSON(`/portal-api/cobrowse/${session.session_id}/end/`, { reason: "panel_closed" }).catch(() => {});
    }
  });
  sizeButton.addEventListener("click", () => {
    const large = sizeButton.getAttribute("aria-pressed") !== "true";
    sizeButton.setAttribute("aria-pressed", String(large));
    sizeButton.textContent = large ? "Smaller view" : "Larger view";
    region.classList.toggle("cobrowse--large", large);
  });

  if (panel.data.cobrowse) apply(panel.data.cobrowse);
  else showState();
}
