/*
 * The chat panel's attachments and emoji (docs/attachments.md): the attach button, drag
 * and drop and paste into the composer, the tray of uploads (progress, Cancel, the
 * server's refusals), thumbnails and file cards in the conversation with a lightbox, the
 * emoji picker and `:shortcode:` completion. The shared parts are chat/attachments-core.js.
 */
import { renderFiles, wireComposer, wireEmojiPicker, wireShortcodes } from "../../chat/attachments-core.js";
import { csrfToken, el } from "./util.js";

export function wireAttachments(panel) {
  const form = panel.f("composer");
  if (!form) return;
  const input = form.querySelector("textarea");
  const bar = form.querySelector(".composer__bar");
  const tools = el("span", { class: "composer__tools", role: "group", "aria-label": "Add to message" });
  bar.prepend(tools);
  const said = el("p", { class: "visually-hidden att-said", "aria-live": "polite" });
  form.append(said);
  const announce = (text) => {
    said.textContent = "";
    setTimeout(() => { said.textContent = text; }, 30);
  };
  const prefix = `att-${panel.id}`;
  const composer = wireComposer({
    form,
    input,
    toolbar: tools,
    uploadUrl: () => (panel.role === "csr" ? `/attachments/chats/${panel.id}/` : null),
    headers: () => ({ "X-CSRFToken": csrfToken() }),
    announce,
    host: panel.root,
    idPrefix: prefix,
  });
  wireEmojiPicker({ toolbar: tools, input, host: form, idPrefix: prefix });
  wireShortcodes({ input, host: form, idPrefix: prefix });
  panel.root.addEventListener("chatframe", (event) => {
    if (event.detail && event.detail.type === "hello") composer.setPolicy(event.detail.attachments);
  });
  panel.takeFiles = () => composer.take();
  panel.renderFiles = (files) => renderFiles(files, { host: panel.root });
}
