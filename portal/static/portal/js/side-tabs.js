// The chat panel's side pane: a tab list (Context first, then one tab per feature) that
// follows the ARIA tabs pattern — click or Enter/Space selects, the arrow keys, Home and
// End move between tabs (selection follows focus), one tab is in the Tab order.
// Tabs added later by a feature module work too: the handlers read the tab list each time.

/** Select the side tab `name` in `root` (the panel's <section data-panel>); returns
 *  whether such a tab exists. Dispatches "sidetab" on root with detail {name}. */
export function selectSideTab(root, name, { focus = false } = {}) {
  const tabs = [...root.querySelectorAll("[data-side-tab]")];
  const target = tabs.find((tab) => tab.dataset.sideTab === name);
  if (!target) return false;
  for (const tab of tabs) {
    const on = tab === target;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    const panel = root.querySelector(`[data-side-panel="${tab.dataset.sideTab}"]`);
    if (panel) panel.hidden = !on;
  }
  if (focus) target.focus();
  root.dispatchEvent(new CustomEvent("sidetab", { detail: { name } }));
  return true;
}

export function wireSideTabs(root) {
  const list = root.querySelector('.side [role="tablist"]');
  if (!list) return;
  const current = list.querySelector('[role="tab"][aria-selected="true"]') || list.querySelector('[role="tab"]');
  if (current) selectSideTab(root, current.dataset.sideTab);
  list.addEventListener("click", (event) => {
    const tab = event.target.closest("[data-side-tab]");
    if (tab) selectSideTab(root, tab.dataset.sideTab);
  });
  list.addEventListener("keydown", (event) => {
    const tab = event.target.closest("[data-side-tab]");
    if (!tab) return;
    const tabs = [...list.querySelectorAll("[data-side-tab]")].filter((node) => !node.hidden);
    const index = tabs.indexOf(tab);
    let next = null;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") next = tabs[(index + 1) % tabs.length];
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = tabs[(index - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    event.preventDefault();
    selectSideTab(root, next.dataset.sideTab, { focus: true });
  });
}
