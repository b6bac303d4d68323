// Presence on every portal page of a CSR besides My Work (Recent work, an interaction
// window): the page holds /ws/agent/?mode=presence, whose heartbeats keep the CSR
// present, shows the CSR's status in the app bar and says why when the portal itself
// changed it (Offline — Disconnected, Away — Missed offers). An offer made meanwhile is
// announced with a link to My Work, where it is answered, with the notification sound,
// the tab title and a desktop notice while the page is hidden (notifications.js: once
// per offer, whichever of the CSR's pages has it first).
import { LiveSocket, el, getJSON } from "./util.js";
import { announce, initAnnouncer, offerNotice } from "./notifications.js";

const chip = document.getElementById("presence");
const chipText = document.getElementById("presence-text");
const banner = document.getElementById("presence-note");
// The reasons the portal sets by itself (routing/models.py: DISCONNECTED_REASON_CODE,
// MISSED_OFFERS_REASON_CODE); a CSR's own Away reasons need no banner.
const SYSTEM_REASONS = new Set(["disconnected", "missed-offers"]);

let status = null; // the last status frame
let offer = null; // the pending offer, if any
const baseTitle = document.title;

// The CSR's sound setting, read before the first offer is announced.
const userId = Number(chip.dataset.userId);
initAnnouncer({ userId, counter: chip });
const soundReady = getJSON("/portal-api/preferences/")
  .then((p) => initAnnouncer({ userId, counter: chip, sound: { enabled: p.sound_enabled, volume: p.sound_volume } }))
  .catch(() => {}); // unreadable: the default (sound on) stands

function statusLabel(s) {
  const reason = s.reason ? s.reason.label : "";
  return reason ? `${s.status_label} — ${reason}` : s.status_label;
}

function renderBanner() {
  document.title = offer ? `(1) Incoming chat — ${offer.customer_name}` : baseTitle;
  banner.replaceChildren();
  const myWork = el("a", { href: "/" }, "Open My Work");
  if (offer) {
    banner.append(`Incoming chat from ${offer.customer_name}. `, myWork, " to answer it.");
  } else if (status && status.status !== "available" && status.reason && SYSTEM_REASONS.has(status.reason.code)) {
    const why = status.note || `The portal set you ${statusLabel(status)}.`;
    banner.append(`${why} `, myWork, " to choose your status.");
  } else {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
}

function renderStatus(frame) {
  status = frame;
  chip.dataset.status = frame.status;
  chipText.textContent = statusLabel(frame);
  chip.title = "Your status; change it in My Work";
  renderBanner();
}

new LiveSocket({
  url: "/ws/agent/?mode=presence",
  onState: (state) => {
    if (state === "open" && status) renderStatus(status);
    else if (state === "reconnecting" || state === "connecting") { chip.dataset.status = ""; chipText.textContent = status ? "Reconnecting…" : "Connecting…"; }
    else if (state === "closed") { chip.dataset.status = ""; chipText.textContent = "Disconnected"; }
  },
  onMessage: (frame) => {
    switch (frame.type) {
      case "status": renderStatus(frame); break;
      case "offer":
        offer = frame;
        renderBanner();
        soundReady.then(() => announce(offerNotice(frame)));
        break;
      case "offer.closed":
        if (offer && offer.offer_id === frame.offer_id) { offer = null; renderBanner(); }
        break;
      default: break;
    }
  },
});
