// The typing preview in the chat panel: on a channel that turned it on, the handling
// CSR sees what the customer is typing before it is sent (`typing.preview` frames,
// docs/websocket-protocol.md). The text is never stored. Its line is not a live region:
// screen readers hear "… is typing" from the panel's typing line, not every keystroke.

import { el } from "./util.js";

// The preview goes after this long without a new frame (the customer paused or left).
const IDLE_MS = 6000;

export function wireTypingPreview(panel) {
  const typingLine = panel.f("typing");
  if (!typingLine) return;
  const text = el("span", { class: "typing-preview__text" });
  const who = el("span", { class: "typing-preview__who" });
  const line = el("p", { class: "typing typing-preview", "data-field": "typing-preview", "aria-live": "off", hidden: true });
  line.append(who, text);
  typingLine.after(line);
  let timer = null;

  const clear = () => {
    clearTimeout(timer);
    who.textContent = "";
    text.textContent = "";
    line.hidden = true;
  };

  const show = (frame) => {
    if (frame.interaction_id !== panel.id || !frame.text) { clear(); return; }
    who.textContent = `${frame.name || panel.data.customer.name} is typing: `;
    text.textContent = frame.text;
    line.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(clear, IDLE_MS);
  };

  panel.root.addEventListener("chatframe", (event) => {
    const frame = event.detail || {};
    if (frame.type === "typing.preview") show(frame);
    else if (frame.type === "message" && frame.sender_kind === "customer") clear();
    else if (frame.type === "typing" && frame.from === "customer" && !frame.active) clear();
    else if (frame.type === "interaction.status" && frame.status !== "active") clear();
  });
  panel.root.addEventListener("chatpanel:destroy", clear);
}
