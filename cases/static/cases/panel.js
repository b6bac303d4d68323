// The chat panel's case assistant (side tab "case", docs/cases.md): as the customer writes
// it proposes the case types that fit, with why; Add task → <category> → <case type> or a
// suggestion opens the case form pre-filled from the chat, each value with its source;
// nothing is saved until the CSR saves the case. It follows the chat through the panel's
// "chatframe" events (no socket of its own) and reads /portal-api/…/case-assistant/.
import { el, getJSON, csrfToken } from "../portal/js/util.js";
import { selectSideTab } from "../portal/js/side-tabs.js";

const REFRESH_MS = 400;

export function wireCases(panel) {
  const pane = panel.root.querySelector('[data-side-panel="case"]');
  if (!pane) return null;
  if (panel.data.mode !== "live") {
    const tab = panel.root.querySelector('[data-side-tab="case"]');
    if (tab) tab.hidden = true;
    pane.hidden = true;
    return null;
  }
  return new CaseAssistant(panel, pane);
}

class CaseAssistant {
  constructor(panel, pane) {
    this.panel = panel;
    this.pane = pane;
    this.f = (name) => pane.querySelector(`[data-field="${name}"]`);
    this.form = this.f("case-form");
    this.caseType = null;
    this.timer = null;
    this.base = `/portal-api/interactions/${panel.id}`;
    panel.root.addEventListener("chatframe", (event) => this.onFrame(event.detail));
    panel.root.addEventListener("addtask", (event) => {
      if (event.detail && event.detail.kind === "case") this.open(Number(event.detail.key));
    });
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.save(); });
    this.f("case-cancel").addEventListener("click", () => this.closeForm());
    this.f("case-request-auth").addEventListener("click", () => this.panel.requestAuthentication());
    this.refresh();
  }

  onFrame(frame) {
    if (!frame) return;
    const customerWrote = frame.type === "message" && frame.sender_kind === "customer";
    const authenticated = frame.type === "message" && frame.event === "authenticated";
    if (customerWrote || authenticated || frame.type === "interaction.status") {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
    }
    if (authenticated && this.caseType) this.reminder("");
  }

  async refresh() {
    let state;
    try {
      state = await getJSON(`${this.base}/case-assistant/`);
    } catch (e) {
      return; // the panel shows connection problems; suggestions come back with the next frame
    }
    this.authenticated = state.authenticated;
    this.renderSuggestions(state.suggestions);
    this.renderOpenCases(state.open_cases);
    if (this.caseType && state.authenticated) this.reminder("");
  }

  renderSuggestions(items) {
    const list = this.f("case-suggestions");
    list.replaceChildren();
    this.f("case-suggest-empty").hidden = items.length > 0;
    for (const item of items) {
      const li = el("li", { class: "case-suggestion", "data-case-type": String(item.id) });
      li.append(el("strong", {}, item.name));
      const why = el("ul", { class: "case-suggestion__why", "aria-label": `Why ${item.name}` });
      for (const reason of item.reasons) why.append(el("li", {}, reason));
      li.append(why);
      if (item.auth_reminder) li.append(el("p", { class: "case-reminder" }, item.auth_reminder));
      const button = el("button", { type: "button", class: "btn" }, "Open form");
      button.setAttribute("aria-label", `Open form: ${item.name}`);
      button.addEventListener("click", () => this.open(item.id));
      li.append(button);
      list.append(li);
    }
  }

  renderOpenCases(cases) {
    const list = this.f("case-open");
    list.replaceChildren();
    this.f("case-open-empty").hidden = cases.length > 0;
    for (const item of cases) {
      const li = el("li", { "data-case": item.reference });
      li.append(el("a", { href: `/cases/${encodeURIComponent(item.reference)}/`, target: "_blank", rel: "noopener" }, item.reference));
      li.append(document.createTextNode(` ${item.case_type} · `));
      li.append(el("span", { class: `case-status case-status--${item.status}` }, item.status_label));
      list.append(li);
    }
  }

  reminder(text) {
    this.f("case-reminder").textContent = text;
    this.f("case-reminder-box").hidden = !text;
  }

  async open(caseTypeId) {
    selectSideTab(this.panel.root, "case");
    this.f("case-saved").hidden = true;
    let form;
    try {
      form = await getJSON(`${this.base}/case-types/${caseTypeId}/form/`);
    } catch (e) {
      this.panel.toast(e.message);
      return;
    }
    this.caseType = form;
    this.f("case-form-title").textContent = `New case: ${form.name}`;
    this.reminder(form.auth_reminder);
    this.f("case-form-error").hidden = true;
    const box = this.f("case-fields");
    box.replaceChildren();
    for (const field of form.fields) box.append(this.renderField(field, form));
    this.form.hidden = false;
    const first = box.querySelector("input, select, textarea");
    if (first) first.focus();
  }

  renderField(field, form) {
    const id = `case-${this.panel.id}-${field.key}`;
    const wrap = el("div", { class: "case-form__field", "data-case-field": field.key });
    const label = el("label", { for: id }, field.label);
    if (field.required) label.append(el("span", { class: "muted" }, " (required)"));
    const described = [];
    let input;
    if (field.kind === "choice") {
      input = el("select", { id });
      input.append(el("option", { value: "" }, "Choose…"));
      for (const option of field.choices) input.append(el("option", { value: option }, option));
      if (field.value) input.value = field.value;
    } else if (field.kind === "yes_no") {
      input = el("input", { id, type: "checkbox" });
      input.checked = field.value === true || field.value === "yes";
    } else if (field.kind === "money") {
      input = el("div", { class: "case-form__money" });
      const amount = el("input", { id, type: "text", inputmode: "decimal", "data-part": "amount", autocomplete: "off" });
      const currency = el("input", { type: "text", "data-part": "currency", maxlength: "3", "aria-label": `${field.label}: currency`, autocomplete: "off" });
      amount.value = field.value ? field.value.amount : "";
      currency.value = field.value ? field.value.currency : form.default_currency;
      input.append(amount, currency);
    } else {
      input = el("input", { id, type: field.kind === "date" ? "date" : "text", autocomplete: "off" });
      if (field.kind === "number") input.setAttribute("inputmode", "decimal");
      if (field.value !== null && field.value !== undefined) input.value = field.value;
    }
    if (field.required && field.kind !== "money") input.setAttribute("aria-required", "true");
    if (field.help_text) {
      const help = el("p", { class: "muted small", id: `${id}-help` }, field.help_text);
      described.push(help.id);
      wrap.append(label, help);
    } else {
      wrap.append(label);
    }
    wrap.append(input);
    if (field.source) {
      const source = el("p", { class: "case-form__source", id: `${id}-source`, "data-field": "case-source" }, `Pre-filled · ${field.source}`);
      described.push(source.id);
      wrap.append(source);
    }
    const error = el("p", { class: "field-error", id: `${id}-error`, "data-field": "case-error" });
    error.hidden = true;
    wrap.append(error);
    const target = field.kind === "money" ? input.querySelector('[data-part="amount"]') : input;
    if (described.length) target.setAttribute("aria-describedby", described.join(" "));
    wrap.dataset.kind = field.kind;
    return wrap;
  }

  values() {
    const values = {};
    for (const wrap of this.f("case-fields").querySelectorAll("[data-case-field]")) {
      const key = wrap.dataset.caseField;
      const kind = wrap.dataset.kind;
      if (kind === "money") {
        const amount = wrap.querySelector('[data-part="amount"]').value.trim();
        const currency = wrap.querySelector('[data-part="currency"]').value.trim();
        if (amount) values[key] = { amount, currency };
      } else if (kind === "yes_no") {
        values[key] = wrap.querySelector("input").checked;
      } else {
        const value = wrap.querySelector("input, select").value.trim();
        if (value) values[key] = value;
      }
    }
    return values;
  }

  showErrors(errors) {
    let first = null;
    for (const wrap of this.f("case-fields").querySelectorAll("[data-case-field]")) {
      const error = wrap.querySelector('[data-field="case-error"]');
      const target = wrap.querySelector("input, select");
      const found = errors.find((item) => item.field === wrap.dataset.caseField);
      error.hidden = !found;
      error.textContent = found ? found.message : "";
      const ids = (target.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== error.id);
      if (found) {
        target.setAttribute("aria-invalid", "true");
        ids.push(error.id);
        first = first || target;
      } else {
        target.removeAttribute("aria-invalid");
      }
      if (ids.length) target.setAttribute("aria-describedby", ids.join(" "));
    }
    if (first) first.focus();
  }

  async save() {
    if (!this.caseType) return;
    const button = this.f("case-save");
    button.disabled = true;
    const failure = this.f("case-form-error");
    failure.hidden = true;
    try {
      const response = await fetch(`${this.base}/cases/`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ case_type: this.caseType.id, values: this.values() }),
      });
      let data = {};
      try { data = await response.json(); } catch (e) { data = {}; }
      if (response.status === 201) {
        this.closeForm({ focus: false });
        const saved = this.f("case-saved");
        saved.textContent = `Service case ${data.reference} created: ${data.case_type}. The customer sees the reference in the chat.`;
        saved.hidden = false;
        this.refresh();
        return;
      }
      this.showErrors(data.errors || []);
      if (data.code === "authentication_required") this.reminder(data.message);
      failure.textContent = data.message || `The server answered ${response.status}.`;
      failure.hidden = false;
    } catch (e) {
      failure.textContent = "Not saved: the portal could not be reached. Try again.";
      failure.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  closeForm({ focus = true } = {}) {
    this.form.hidden = true;
    this.caseType = null;
    this.f("case-fields").replaceChildren();
    if (focus) {
      const tab = this.panel.root.querySelector('[data-side-tab="case"]');
      if (tab) tab.focus();
    }
  }
}
