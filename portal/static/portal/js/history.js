// The chat panel's History: the customer's earlier chats that this user may open
// (GET /portal-api/interactions/<id>/history/, portal/history.py), counted in the header
// ("3 earlier chats") and listed in the History side tab, newest first; each opens its
// read-only interaction window in a new tab, so a live chat stays where it is.

import { el, getJSON } from "./util.js";
import { selectSideTab } from "./side-tabs.js";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function when(iso) {
  const date = iso ? new Date(iso) : null;
  return date && !Number.isNaN(date.getTime()) ? dateFormat.format(date) : "";
}

export function countText(count) {
  if (!count) return "No earlier chats";
  return count === 1 ? "1 earlier chat" : `${count.toLocaleString("en")} earlier chats`;
}

function renderItem(item) {
  const li = el("li", { class: "history__item", dataset: { interaction: String(item.id) } });
  const link = el("a", { href: item.url, target: "_blank", rel: "noopener", class: "history__link" });
  link.append(
    el("span", {}, `${when(item.started_at)} · ${item.channel}`),
    el("span", { class: "visually-hidden" }, " (opens in a new tab)"),
  );
  li.append(link);
  const facts = [item.status_label, item.queue, item.csr ? `CSR ${item.csr}` : "No CSR"].filter(Boolean);
  li.append(el("p", { class: "history__facts" }, facts.join(" · ")));
  li.append(el("p", { class: "history__intent muted" }, item.intent ? `Intent: ${item.intent}` : "No intent given"));
  if (item.match === "verified_identity") {
    li.append(el("p", { class: "history__match" }, "Same verified identity, another customer ID"));
  }
  return li;
}

/** Load and show the customer's history in `panel` (a ChatPanel). */
export async function wireHistory(panel) {
  const root = panel.root;
  const pane = root.querySelector('[data-side-panel="history"]');
  const count = panel.f("history-count");
  if (!pane || !count) return;
  const status = panel.f("history-status");
  const list = panel.f("history-list");
  const rule = panel.f("history-rule");
  count.addEventListener("click", () => {
    const side = panel.f("context-pane");
    if (side && side.hidden) root.querySelector('[data-action="context"]').click();
    selectSideTab(root, "history", { focus: true });
  });
  let data;
  try {
    data = await getJSON(`/portal-api/interactions/${panel.id}/history/`);
  } catch (error) {
    status.textContent = `The customer's history could not be loaded: ${error.message}`;
    return;
  }
  count.textContent = countText(data.count);
  count.hidden = false;
  rule.textContent = `Listed: ${data.rule.charAt(0).toLowerCase()}${data.rule.slice(1)}`;
  list.replaceChildren(...data.items.map(renderItem));
  if (!data.items.length) status.textContent = "No earlier chats you may open.";
  else if (data.count > data.items.length) status.textContent = `The newest ${data.items.length} of ${data.count} are listed.`;
  else status.textContent = "";
  status.hidden = !status.textContent;
}
