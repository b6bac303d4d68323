/*
 * The customer widget's satisfaction survey (docs/websocket-protocol.md, `csat.request`),
 * loaded by widget.js from the same folder the first time the server asks. One question,
 * a rating from 1 to 5 as a labelled radio group, an optional comment, Send, then a
 * thank-you. Text from the server is only ever put in the page with textContent.
 */

const STYLESHEET = new URL("csat.css", import.meta.url).href;
// The codes of `error` frames that answer a `csat.answer`.
const ERROR_CODES = new Set(["bad_rating", "bad_comment", "comment_too_long", "csat_not_asked", "csat_answered", "csat_expired"]);

function ensureStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = STYLESHEET;
  document.head.append(link);
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

/**
 * Called by widget.js with its panel (`ui.panel`), the element the survey goes before
 * (`before`) and `transmit(frame)` (false when the socket is not open).
 * Returns {request(frame), answered(frame), error(frame) → handled?, clear()}.
 */
export function wireSurvey({ panel, before, transmit }) {
  ensureStylesheet();
  let section = null;
  let pending = false;
  let status = null;
  let button = null;

  function clear() {
    if (section) section.remove();
    section = null;
    pending = false;
  }

  function setStatus(text) {
    if (status) status.textContent = text;
  }

  function request(frame) {
    if (section && section.dataset.interaction === String(frame.interaction_id)) return;
    clear();
    const choices = Array.isArray(frame.choices) ? frame.choices : [];
    const radios = choices.map((choice) => {
      const id = `cpw-csat-${choice.rating}`;
      return el("div", { className: "cpw-csat-choice" }, [
        el("input", { type: "radio", id, name: "cpw-csat-rating", value: String(choice.rating) }),
        el("label", { for: id, text: `${choice.rating} – ${choice.label}` }),
      ]);
    });
    const comment = el("textarea", {
      id: "cpw-csat-comment",
      className: "cpw-csat-comment",
      rows: "2",
      maxlength: String(frame.comment_max_chars || 1000),
    });
    button = el("button", { type: "submit", className: "cpw-csat-send", text: "Send rating" });
    status = el("p", { className: "cpw-csat-status", role: "status" });
    const form = el("form", { className: "cpw-csat-form", novalidate: true }, [
      el("fieldset", { className: "cpw-csat-scale" }, [
        el("legend", { id: "cpw-csat-question", text: frame.question || "How satisfied are you with this chat?" }),
        ...radios,
      ]),
      el("label", { for: "cpw-csat-comment", className: "cpw-csat-comment-label", text: "Comment (optional)" }),
      comment,
      button,
      status,
    ]);
    section = el("section", { className: "cpw-csat", "aria-labelledby": "cpw-csat-question" }, [form]);
    section.dataset.interaction = String(frame.interaction_id);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (pending) return;
      const chosen = form.querySelector('input[name="cpw-csat-rating"]:checked');
      if (!chosen) {
        setStatus("Choose a rating from 1 to 5.");
        form.querySelector('input[name="cpw-csat-rating"]').focus();
        return;
      }
      const answer = { type: "csat.answer", rating: Number(chosen.value) };
      if (comment.value.trim()) answer.comment = comment.value.trim();
      if (!transmit(answer)) {
        setStatus("Not connected right now: try again in a moment.");
        return;
      }
      pending = true;
      button.setAttribute("aria-disabled", "true");
      setStatus("Sending…");
    });
    panel.insertBefore(section, before);
  }

  function answered(frame) {
    if (!section) return;
    pending = false;
    section.replaceChildren(
      el("p", { className: "cpw-csat-thanks", role: "status", text: `Thank you for your feedback (you rated this chat ${frame.rating} of 5).` }),
    );
  }

  function error(frame) {
    if (!section || !ERROR_CODES.has(frame.code)) return false;
    pending = false;
    if (frame.code === "csat_answered" || frame.code === "csat_expired" || frame.code === "csat_not_asked") {
      section.replaceChildren(el("p", { className: "cpw-csat-thanks", role: "status", text: frame.message || "This chat can no longer be rated." }));
      return true;
    }
    if (button) button.removeAttribute("aria-disabled");
    setStatus(frame.message || "That rating could not be sent.");
    return true;
  }

  return { request, answered, error, clear };
}
