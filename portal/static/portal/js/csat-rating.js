// The customer's satisfaction rating in the chat panel's header: from the panel data
// (portal.selectors.interaction_panel) and, live, from the internal `csat_answered`
// system message the survey's answer adds (docs/websocket-protocol.md).

const LABELS = { 1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neither satisfied nor dissatisfied", 4: "Satisfied", 5: "Very satisfied" };

export function wireCsatRating(panel) {
  const badge = panel.f("csat");
  const label = panel.f("csat-label");
  if (!badge || !label) return;
  const show = (rating, comment) => {
    label.textContent = `${rating}/5 – ${LABELS[rating] || ""}`;
    badge.title = comment || "";
    badge.hidden = false;
  };
  const given = panel.data.satisfaction;
  if (given && given.rating) show(given.rating, given.comment);
  panel.root.addEventListener("chatframe", (event) => {
    const frame = event.detail || {};
    if (frame.type !== "message" || frame.event !== "csat_answered" || !frame.data) return;
    const rating = Number(frame.data.rating);
    if (rating >= 1 && rating <= 5) show(rating, frame.data.comment);
  });
}
