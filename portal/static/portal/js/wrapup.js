// Wrap-up: once a chat ends, its tab keeps a form for the disposition code and summary,
// with the time left. The chat takes one of the CSR's places until the form is finished
// or the queue's time limit passes (the /ws/agent/ socket then sends wrapup.released).
import { el, getJSON, postJSON } from "./util.js";

function remainingText(seconds) {
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return `${m}:${s} left`;
}

/**
 * Show the wrap-up of chat `id` in its panel `section`, if the chat has one for this CSR.
 * @param hooks {toast(text), onChange()}: onChange when the wrap-up opens or is released.
 * @returns a controller {open, released(frame), destroy()}, or null when there is none.
 */
export async function startWrapup(section, id, hooks = {}) {
  let data;
  try {
    data = await getJSON(`/api/v1/interactions/${id}/wrapup/`);
  } catch (e) {
    if (e.status !== 404 && hooks.toast) hooks.toast(e.message);
    return null;
  }
  if (!section.isConnected) return null;
  return new Wrapup(section, data, hooks);
}

class Wrapup {
  constructor(section, data, hooks) {
    this.data = data;
    this.hooks = hooks;
    this.open = data.open;
    this.deadline = Date.now() + data.remaining_seconds * 1000;
    const id = data.interaction_id;
    const form = el("form", { class: "wrapup", "aria-labelledby": `wrapup-title-${id}`, novalidate: true });
    form.dataset.wrapup = String(id);
    this.form = form;
    this.title = el("h3", { class: "wrapup__title", id: `wrapup-title-${id}` }, "Wrap-up");
    this.time = el("p", { class: "wrapup__time", id: `wrapup-time-${id}` });
    this.select = el("select", { class: "select", id: `wrapup-code-${id}`, name: "code", "aria-describedby": `wrapup-time-${id}` });
    this.select.append(el("option", { value: "" }, data.code_required ? "Choose a code…" : "No code"));
    for (const code of data.codes) this.select.append(el("option", { value: code.code }, code.label));
    if (data.code_required) this.select.required = true;
    const codeLabel = el("label", { for: this.select.id }, "Disposition code");
    if (data.code_required) codeLabel.append(el("span", { class: "muted" }, " (required)"));
    this.summary = el("textarea", { id: `wrapup-summary-${id}`, name: "summary", rows: "3", maxlength: "2000", class: "wrapup__summary" });
    const summaryLabel = el("label", { for: this.summary.id }, "Summary ");
    summaryLabel.append(el("span", { class: "muted" }, "(optional)"));
    this.error = el("p", { class: "alert alert--error", role: "alert", hidden: true });
    this.status = el("p", { class: "wrapup__status", role: "status" });
    this.button = el("button", { type: "submit", class: "btn btn--primary" }, "Finish wrap-up");
    const codeField = el("div", { class: "wrapup__field" });
    codeField.append(codeLabel, this.select);
    const summaryField = el("div", { class: "wrapup__field wrapup__field--wide" });
    summaryField.append(summaryLabel, this.summary);
    const fields = el("div", { class: "wrapup__fields" });
    fields.append(codeField, summaryField);
    const actions = el("div", { class: "wrapup__actions" });
    actions.append(this.button, this.time);
    form.append(this.title, fields, this.error, actions, this.status);
    form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.select.addEventListener("change", () => { this.error.hidden = true; });
    const conversation = section.querySelector(".panel__conversation") || section;
    conversation.append(form);
    if (this.open) {
      this.tick();
      this.timer = setInterval(() => this.tick(), 1000);
    } else {
      this.showReleased(data.outcome, data.code_label);
    }
    if (this.hooks.onChange) this.hooks.onChange();
  }

  tick() {
    const left = Math.max(0, Math.round((this.deadline - Date.now()) / 1000));
    this.time.textContent = remainingText(left);
    if (left > 0) return;
    // The server releases it and the /ws/agent/ socket says so; a page without that
    // socket (the interaction window) asks until the release shows.
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), 5000);
  }

  async refresh() {
    if (!this.open) return;
    let data;
    try {
      data = await getJSON(`/api/v1/interactions/${this.data.interaction_id}/wrapup/`);
    } catch (e) { return; }
    if (!data.open) this.release(data.outcome, data.code_label);
  }

  async submit() {
    if (!this.open) return;
    this.error.hidden = true;
    if (this.data.code_required && !this.select.value) {
      this.fail("Pick a disposition code to finish the wrap-up.");
      this.select.focus();
      return;
    }
    this.button.disabled = true;
    try {
      const done = await postJSON(`/api/v1/interactions/${this.data.interaction_id}/wrapup/`, {
        code: this.select.value,
        summary: this.summary.value,
      });
      this.release(done.outcome, done.code_label);
    } catch (e) {
      this.button.disabled = false;
      if (e.status === 409) { this.release("timed_out", null, e.message); return; }
      this.fail(e.message);
    }
  }

  fail(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  /** The /ws/agent/ socket's wrapup.released (this page or another of the CSR's). */
  released(frame) {
    if (!this.open) return;
    this.release(frame.outcome, frame.code, frame.message);
  }

  release(outcome, codeLabel, message = "") {
    this.open = false;
    clearInterval(this.timer);
    this.showReleased(outcome, codeLabel, message);
    if (this.hooks.onChange) this.hooks.onChange();
  }

  showReleased(outcome, codeLabel, message = "") {
    this.form.dataset.outcome = outcome;
    this.select.disabled = true;
    this.summary.readOnly = true;
    this.button.hidden = true;
    this.time.textContent = "";
    this.error.hidden = true;
    if (outcome === "timed_out") {
      this.status.className = "wrapup__status alert alert--warning";
      this.status.textContent = message || "The wrap-up time ran out: the chat was released without a wrap-up.";
    } else {
      this.status.className = "wrapup__status alert alert--success";
      this.status.textContent = codeLabel ? `Wrap-up finished: ${codeLabel}.` : "Wrap-up finished.";
    }
  }

  destroy() {
    clearInterval(this.timer);
    this.form.remove();
  }
}
