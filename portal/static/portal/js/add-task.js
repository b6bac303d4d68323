// The chat panel's Add task menu: categories → tasks → "Add task" (the reference page's
// "Add tasks > General > Co-Browsing Session > Add Task"). The menu comes from the
// server (portal/add_task.py), so each feature adds its tasks there; choosing one
// dispatches the DOM event "addtask" on the panel's root with
// detail = {kind, key, interactionId, via: "add_task"}, and the feature module that
// handles that kind (e.g. cobrowse/static/cobrowse/panel.js) does the rest.
// A disclosure (button + group), not a menu role: it holds a form of radio buttons.
import { el, getJSON } from "./util.js";

export function wireAddTask(panel) {
  const root = panel.root;
  const button = root.querySelector('[data-action="add-task"]');
  const box = root.querySelector('[data-field="add-task"]');
  if (!button || !box) return;
  const form = box.querySelector('[data-field="add-task-form"]');
  const list = box.querySelector('[data-field="add-task-list"]');
  const error = box.querySelector('[data-field="add-task-error"]');
  const name = `add-task-${panel.id}`;

  const close = (returnFocus = true) => {
    if (box.hidden) return;
    box.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (returnFocus) button.focus();
  };

  const render = (categories) => {
    list.replaceChildren();
    let count = 0;
    for (const category of categories) {
      const fieldset = el("fieldset", { class: "add-task__category", "data-category": category.key });
      fieldset.append(el("legend", {}, category.label));
      for (const task of category.tasks) {
        const id = `${name}-${category.key}-${task.key}`;
        const input = el("input", { type: "radio", name, id, value: task.key, "data-kind": task.kind });
        const label = el("label", { for: id, class: "add-task__task" });
        label.append(input, el("span", {}, task.label));
        if (task.disabled_reason) {
          input.disabled = true;
          const why = el("span", { class: "add-task__why", id: `${id}-why` }, task.disabled_reason);
          input.setAttribute("aria-describedby", why.id);
          label.append(why);
        }
        fieldset.append(label);
        count += 1;
      }
      list.append(fieldset);
    }
    if (!count) list.append(el("p", { class: "muted" }, "No tasks can be added to this chat."));
  };

  const open = async () => {
    box.hidden = false;
    button.setAttribute("aria-expanded", "true");
    error.hidden = true;
    list.replaceChildren(el("p", { class: "muted" }, "Loading tasks…"));
    try {
      const data = await getJSON(`/portal-api/interactions/${panel.id}/add-task/`);
      render(data.categories);
    } catch (e) {
      list.replaceChildren(el("p", { class: "muted" }, e.message));
    }
    const first = list.querySelector("input:not([disabled])") || form.querySelector('[data-field="add-task-cancel"]');
    if (first && !box.hidden) first.focus();
  };

  button.addEventListener("click", () => (box.hidden ? open() : close()));
  box.querySelector('[data-field="add-task-cancel"]').addEventListener("click", () => close());
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  document.addEventListener("click", (event) => {
    if (!box.hidden && !box.contains(event.target) && !button.contains(event.target)) close(false);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const picked = form.querySelector(`input[name="${name}"]:checked`);
    if (!picked) {
      error.textContent = "Choose a task to add.";
      error.hidden = false;
      return;
    }
    close();
    root.dispatchEvent(new CustomEvent("addtask", {
      detail: { kind: picked.dataset.kind, key: picked.value, interactionId: panel.id, via: "add_task" },
    }));
  });
}
