// Hand the signed token to the chat widget that opened this window: only to a
// page of this same origin, then close.
(() => {
  const token = JSON.parse(document.getElementById("identity-token").textContent);
  const note = document.getElementById("done-note");
  if (!window.opener || window.opener.closed) {
    note.textContent = "You are signed in, but the chat that asked for it is gone. Go back to the chat and choose Sign in again.";
    return;
  }
  window.opener.postMessage({ type: "portal-widget:identity", token }, window.location.origin);
  window.setTimeout(() => window.close(), 1500);
})();
