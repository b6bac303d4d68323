/*
 * Attachments and emoji, shared by the customer widget (chat/attachments.js) and the
 * CSR's chat panel (portal/js/attachments.js). docs/attachments.md.
 *
 * - Composer: an attach button, drag and drop, paste of an image; each file is uploaded
 *   at once (XMLHttpRequest, for its progress) to POST /attachments/chats/<id>/ with an
 *   upload_key of its own, so a retried upload is stored once. The tray above the
 *   composer lists the files: a preview for images, name, type and size, the progress
 *   with Cancel, and the server's refusal in words ("report.exe: this file type is not
 *   accepted") — never a silent drop. The message is sent with the ids of the uploaded
 *   files (`attachment_ids` in the `send` frame).
 * - Conversation: a thumbnail for an image (a button opening the lightbox), a file card
 *   (name, type, size, download link) for others.
 * - Emoji: emoji-picker-element, vendored with its data file (no CDN), in a popover.
 *
 * Text from anyone is only ever put in the page with textContent.
 */

const HERE = new URL(".", import.meta.url);
// Images up to this size get a preview in the tray before they are sent.
const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;
export const EMOJI_DATA_URL = new URL("vendor/emoji-picker/data.json", HERE).href;
const PICKER_URL = new URL("vendor/emoji-picker/picker.js", HERE).href;
const DATABASE_URL = new URL("vendor/emoji-picker/database.js", HERE).href;

function node(tag, attrs = {}, children = []) {
  const n = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") n.textContent = value;
    else if (key === "className") n.className = value;
    else if (key === "hidden") n.hidden = true;
    else n.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) if (child) n.append(child);
  return n;
}

function svg(paths) {
  const ns = "http://www.w3.org/2000/svg";
  const root = document.createElementNS(ns, "svg");
  root.setAttribute("viewBox", "0 0 24 24");
  root.setAttribute("aria-hidden", "true");
  root.setAttribute("focusable", "false");
  for (const d of paths) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    root.append(path);
  }
  return root;
}

export const ICONS = {
  clip: ["M21 11.5 12.5 20a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7L10.2 17.7a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8"],
  smile: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M8.5 14.5a4.5 4.5 0 0 0 7 0", "M9 9.5h.01M15 9.5h.01"],
  file: ["M6 3h8l4 4v14H6z", "M14 3v4h4"],
  close: ["M6 6l12 12M18 6 6 18"],
  download: ["M12 4v11m-5-5 5 5 5-5M5 20h14"],
};

export function sizeLabel(size) {
  const n = Number(size) || 0;
  if (n < 1024) return `${n} bytes`;
  const units = ["KB", "MB", "GB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value >= 10 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

const TYPE_LABELS = {
  "application/pdf": "PDF document",
  "text/plain": "Text file",
  "image/png": "PNG image",
  "image/jpeg": "JPEG image",
  "image/gif": "GIF image",
  "image/webp": "WebP image",
  "application/msword": "Word document",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
  "application/vnd.ms-excel": "Excel spreadsheet",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel spreadsheet",
  "application/vnd.ms-powerpoint": "PowerPoint presentation",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint presentation",
  "application/vnd.oasis.opendocument.text": "OpenDocument text",
  "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
  "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
};

export function typeLabel(contentType) {
  return TYPE_LABELS[contentType] || (contentType ? contentType.split("/").pop().toUpperCase() + " file" : "File");
}

function uploadKey() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    try { return window.crypto.randomUUID(); } catch (error) { /* insecure context */ }
  }
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Upload one file: {promise → {status, body}, cancel()}; progress(loaded, total). */
export function uploadFile({ url, file, headers = {}, progress }) {
  const xhr = new XMLHttpRequest();
  const key = uploadKey();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) if (value) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name || "file").slice(0, 200));
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (progress && event.lengthComputable) progress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response || {} }));
    xhr.addEventListener("error", () => reject(new Error("network")));
    xhr.addEventListener("abort", () => reject(new Error("cancelled")));
    const form = new FormData();
    form.append("upload_key", key);
    form.append("file", file, file.name || "pasted-image.png");
    xhr.send(form);
  });
  return { promise, cancel: () => xhr.abort() };
}

// --- The conversation: thumbnails, file cards, the lightbox ------------------------------

let lightbox = null;

function lightboxOpen(file, opener, host) {
  if (!lightbox) {
    const img = node("img", { className: "att-lightbox__img", alt: "" });
    const title = node("h2", { className: "att-lightbox__title", id: "att-lightbox-title" });
    const download = node("a", { className: "att-btn att-lightbox__download", download: "" }, [svg(ICONS.download), node("span", { text: "Download" })]);
    const close = node("button", { type: "button", className: "att-btn att-lightbox__close", "aria-label": "Close" }, [svg(ICONS.close)]);
    const dialog = node("dialog", { className: "att-lightbox", "aria-labelledby": "att-lightbox-title" }, [
      node("div", { className: "att-lightbox__bar" }, [title, download, close]),
      img,
    ]);
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener("close", () => { if (lightbox.opener && lightbox.opener.isConnected) lightbox.opener.focus(); });
    lightbox = { dialog, img, title, download, close, opener: null };
  }
  (host || document.body).append(lightbox.dialog);
  lightbox.opener = opener;
  lightbox.title.textContent = file.name;
  lightbox.img.alt = file.name;
  lightbox.img.src = file.preview_url || file.thumbnail_url;
  lightbox.download.href = file.url;
  lightbox.dialog.showModal();
  lightbox.close.focus();
}

/** The files of a message: thumbnails (buttons opening the lightbox) and file cards. */
export function renderFiles(files, { host, prefix = "att" } = {}) {
  const list = node("ul", { className: `${prefix}-files`, "aria-label": files.length > 1 ? `${files.length} files` : "File" });
  for (const file of files) {
    const item = node("li", { className: `${prefix}-file` });
    if (file.image && file.thumbnail_url) {
      const img = node("img", { src: file.thumbnail_url, alt: file.name, className: "att-thumb__img" });
      if (file.width && file.height) {
        const scale = Math.min(1, 320 / Math.max(file.width, file.height));
        img.width = Math.max(1, Math.round(file.width * scale));
        img.height = Math.max(1, Math.round(file.height * scale));
      }
      const open = node("button", { type: "button", className: "att-thumb", "aria-label": `Open image ${file.name} (${sizeLabel(file.size)})` }, [img]);
      open.addEventListener("click", () => lightboxOpen(file, open, host));
      item.append(open);
    } else {
      const card = node("a", { className: "att-card", href: file.url || "#", download: file.name }, [
        node("span", { className: "att-visually-hidden", text: "Download " }),
        node("span", { className: "att-card__icon" }, [svg(ICONS.file)]),
        node("span", { className: "att-card__text" }, [
          node("span", { className: "att-card__name", text: file.name }),
          node("span", { className: "att-card__meta", text: `${typeLabel(file.content_type)} · ${sizeLabel(file.size)}` }),
        ]),
        node("span", { className: "att-card__get" }, [svg(ICONS.download)]),
      ]);
      if (!file.url) card.removeAttribute("href");
      item.append(card);
      if (file.preview_url) {
        // PDFs: shown by the browser in a tab of their own, sandboxed (no script runs).
        item.append(node("a", { className: "att-open", href: file.preview_url, target: "_blank", rel: "noopener noreferrer", text: "Open", "aria-label": `Open ${file.name} in a new tab` }));
      }
    }
    list.append(item);
  }
  return list;
}

// --- The composer: attach, drop, paste, the tray -----------------------------------------

/**
 * Wire files into a composer.
 *   form, input: the composer <form> and its text box
 *   toolbar: where the attach and emoji buttons go
 *   uploadUrl(): the upload URL, or null when the chat takes no files now
 *   headers(): extra request headers (the customer token, the CSRF token)
 *   announce(text): say it to screen readers (and show it)
 *   host: where dialogs and popovers attach (the widget's root, the panel)
 *   idPrefix: unique prefix for element ids
 * Returns {take() → files | null, clear(), setPolicy(policy), tray}.
 */
export function wireComposer({ form, input, toolbar, uploadUrl, headers, announce, host, idPrefix, classPrefix = "att" }) {
  const state = { policy: { enabled: true, reason: "", max_file_bytes: 0, max_files: 10 }, items: [] };
  const fileInput = node("input", { type: "file", multiple: true, className: "att-visually-hidden", tabindex: "-1", "aria-hidden": "true" });
  const attach = node("button", { type: "button", className: `att-btn ${classPrefix}-attach`, "aria-label": "Attach files", title: "Attach files (or drop them here, or paste an image)" }, [svg(ICONS.clip)]);
  const tray = node("ul", { className: "att-tray", "aria-label": "Files to send", hidden: true, id: `${idPrefix}-tray` });
  toolbar.append(attach, fileInput);
  form.insertBefore(tray, form.firstChild);

  attach.addEventListener("click", () => {
    if (!state.policy.enabled) { announce(state.policy.reason || "Files cannot be sent here."); return; }
    fileInput.click();
  });
  fileInput.addEventListener("change", () => {
    addFiles(Array.from(fileInput.files || []));
    fileInput.value = "";
  });
  form.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    form.classList.add("att-dropping");
  });
  form.addEventListener("dragleave", () => form.classList.remove("att-dropping"));
  form.addEventListener("drop", (event) => {
    form.classList.remove("att-dropping");
    if (!hasFiles(event)) return;
    event.preventDefault();
    addFiles(Array.from(event.dataTransfer.files || []));
  });
  input.addEventListener("paste", (event) => {
    const files = Array.from((event.clipboardData && event.clipboardData.files) || []);
    if (!files.length) return;
    event.preventDefault();
    addFiles(files);
  });

  function hasFiles(event) {
    return event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
  }

  function addFiles(files) {
    if (!files.length) return;
    if (!state.policy.enabled) { announce(state.policy.reason || "Files cannot be sent here."); return; }
    for (const file of files) {
      if (state.items.length >= (state.policy.max_files || 10)) {
        announce(`${file.name}: a message can carry at most ${state.policy.max_files || 10} files.`);
        continue;
      }
      addOne(file);
    }
  }

  function addOne(file) {
    const name = file.name || "pasted-image.png";
    const item = { file, name, status: "uploading", attachment: null, upload: null, preview: null };
    const progress = node("progress", { max: "100", value: "0", "aria-label": `Uploading ${name}` });
    const status = node("span", { className: "att-tray__status", text: "Uploading…" });
    const remove = node("button", { type: "button", className: "att-btn att-tray__remove", "aria-label": `Cancel upload of ${name}` }, [svg(ICONS.close)]);
    const figure = node("span", { className: "att-tray__preview" }, [svg(ICONS.file)]);
    if (/^image\/(png|jpeg|gif|webp)$/.test(file.type) && file.size <= PREVIEW_MAX_BYTES) {
      // A data: URL (pages' Content-Security-Policy allows those for images, not blob:).
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        if (item.status === "removed" || item.status === "failed") return;
        const img = node("img", { src: reader.result, alt: "" });
        img.addEventListener("error", () => figure.replaceChildren(svg(ICONS.file)));
        figure.replaceChildren(img);
      });
      reader.readAsDataURL(file);
    }
    item.li = node("li", { className: "att-tray__item", "data-state": "uploading" }, [
      figure,
      node("span", { className: "att-tray__text" }, [
        node("span", { className: "att-tray__name", text: name }),
        node("span", { className: "att-tray__meta", text: sizeLabel(file.size) }),
        status,
        progress,
      ]),
      remove,
    ]);
    item.status_node = status;
    item.progress = progress;
    remove.addEventListener("click", () => drop(item, true));
    state.items.push(item);
    tray.append(item.li);
    tray.hidden = false;
    const limit = state.policy.max_file_bytes;
    if (limit && file.size > limit) {
      fail(item, `${name}: this file is too large (${sizeLabel(file.size)}; at most ${sizeLabel(limit)}).`);
      return;
    }
    const url = uploadUrl();
    if (!url) { fail(item, `${name}: files cannot be sent right now.`); return; }
    announce(`Uploading ${name}.`);
    item.upload = uploadFile({
      url,
      file,
      headers: headers(),
      progress: (loaded, total) => { progress.value = Math.round((loaded / total) * 100); },
    });
    item.upload.promise.then(({ status: code, body }) => {
      if (item.status === "removed") return;
      if (code === 200 || code === 201) {
        item.status = "ready";
        item.attachment = body.attachment;
        item.li.dataset.state = "ready";
        progress.hidden = true;
        status.textContent = "Ready to send";
        remove.setAttribute("aria-label", `Remove ${name}`);
        announce(`${name} is ready to send.`);
      } else {
        fail(item, (body && body.message) || `${name}: the upload failed (${code}).`);
      }
    }, (error) => {
      if (item.status === "removed") return;
      fail(item, error.message === "cancelled" ? `${name}: upload cancelled.` : `${name}: the upload failed. Check your connection and try again.`);
    });
  }

  function fail(item, message) {
    item.status = "failed";
    item.li.querySelector(".att-tray__preview").replaceChildren(svg(ICONS.file));
    item.li.dataset.state = "failed";
    item.progress.hidden = true;
    item.status_node.textContent = message;
    item.status_node.setAttribute("role", "alert");
    item.li.querySelector(".att-tray__remove").setAttribute("aria-label", `Dismiss ${item.name}`);
    announce(message);
  }

  function drop(item, byUser) {
    if (item.status === "uploading" && item.upload) {
      item.status = "removed";
      item.upload.cancel();
      if (byUser) announce(`Upload of ${item.name} cancelled.`);
    } else if (byUser) {
      announce(`${item.name} removed.`);
    }
    item.status = "removed";
    item.li.remove();
    state.items = state.items.filter((other) => other !== item);
    tray.hidden = state.items.length === 0;
    if (byUser) input.focus();
  }

  return {
    tray,
    attachButton: attach,
    /** The uploaded files to send now (the tray empties), [] when none, or null (and
     * said why) while an upload is still going. Failed ones stay until dismissed. */
    take() {
      if (state.items.some((item) => item.status === "uploading")) {
        announce("Wait until the files have uploaded, or cancel them.");
        return null;
      }
      const ready = state.items.filter((item) => item.status === "ready");
      for (const item of ready) drop(item, false);
      return ready.map((item) => item.attachment);
    },
    clear() {
      for (const item of [...state.items]) drop(item, false);
    },
    setPolicy(policy) {
      if (!policy) return;
      state.policy = policy;
      attach.hidden = false;
      attach.setAttribute("aria-disabled", policy.enabled ? "false" : "true");
      attach.title = policy.enabled ? "Attach files (or drop them here, or paste an image)" : policy.reason;
    },
  };
}

// --- Emoji ------------------------------------------------------------------------------------

let pickerLoaded = null;

function loadPicker() {
  if (!pickerLoaded) pickerLoaded = import(PICKER_URL);
  return pickerLoaded;
}

function insertAtCursor(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  const caret = start + text.length;
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

/** An emoji button in `toolbar` opening emoji-picker-element (search, skin tones,
 * recently used) in a popover above the composer; the chosen emoji goes in at the
 * caret. Escape or the button closes it and gives the focus back. */
export function wireEmojiPicker({ toolbar, input, host, idPrefix }) {
  const button = node("button", { type: "button", className: "att-btn att-emoji-button", "aria-label": "Insert emoji", "aria-expanded": "false", "aria-controls": `${idPrefix}-emoji`, title: "Insert emoji" }, [svg(ICONS.smile)]);
  const pop = node("div", { className: "att-emoji-pop", id: `${idPrefix}-emoji`, role: "dialog", "aria-label": "Emoji", hidden: true });
  toolbar.append(button);
  (host || document.body).append(pop);
  let picker = null;

  async function open() {
    await loadPicker();
    if (!picker) {
      picker = document.createElement("emoji-picker");
      picker.dataSource = EMOJI_DATA_URL;
      picker.addEventListener("emoji-click", (event) => {
        const unicode = event.detail && event.detail.unicode;
        if (unicode) insertAtCursor(input, unicode);
      });
      pop.append(picker);
    }
    pop.hidden = false;
    button.setAttribute("aria-expanded", "true");
    const focusSearch = () => {
      const search = picker.shadowRoot && picker.shadowRoot.querySelector("input");
      if (search) search.focus();
    };
    requestAnimationFrame(focusSearch);
    setTimeout(focusSearch, 150);
  }

  function close(focus = true) {
    if (pop.hidden) return;
    pop.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focus) input.focus();
  }

  button.addEventListener("click", () => (pop.hidden ? open() : close()));
  pop.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  document.addEventListener("click", (event) => {
    if (!pop.hidden && !pop.contains(event.target) && !button.contains(event.target) && !event.composedPath().includes(pop)) close(false);
  });
  return { button, pop, close, open };
}

// --- :shortcode: completion --------------------------------------------------------------------

let database = null;

async function emojiDatabase() {
  if (!database) {
    const { default: Database } = await import(DATABASE_URL);
    database = new Database({ dataSource: EMOJI_DATA_URL });
  }
  return database;
}

/** While typing `:smi` in `input`, a listbox of matching emoji under it: arrows move,
 * Enter or Tab takes one, Escape closes. */
export function wireShortcodes({ input, host, idPrefix }) {
  const list = node("ul", { className: "att-shortcodes", role: "listbox", id: `${idPrefix}-shortcodes`, "aria-label": "Emoji suggestions", hidden: true });
  (host || input.parentNode).append(list);
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  let matches = [];
  let active = 0;
  let query = null;
  let asked = 0;

  function current() {
    const caret = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, caret);
    const found = /(^|\s):([a-z0-9_+-]{2,30})$/i.exec(before);
    return found ? { text: found[2], start: caret - found[2].length - 1, end: caret } : null;
  }

  async function refresh() {
    query = current();
    if (!query) return hide();
    const ticket = ++asked;
    let found = [];
    try {
      const db = await emojiDatabase();
      const exact = await db.getEmojiByShortcode(query.text.toLowerCase());
      found = await db.getEmojiBySearchQuery(query.text.toLowerCase());
      if (exact) found = [exact, ...found.filter((e) => e.unicode !== exact.unicode)];
    } catch (error) {
      found = [];
    }
    if (ticket !== asked) return undefined;
    matches = found.filter((e) => e.unicode).slice(0, 6);
    if (!matches.length) return hide();
    active = 0;
    render();
    return undefined;
  }

  function render() {
    list.replaceChildren(
      ...matches.map((emoji, index) => {
        const code = (emoji.shortcodes && emoji.shortcodes[0]) || emoji.annotation;
        const option = node("li", { role: "option", id: `${idPrefix}-sc-${index}`, className: "att-shortcodes__option", "aria-selected": index === active ? "true" : "false" }, [
          node("span", { className: "att-shortcodes__emoji", "aria-hidden": "true", text: emoji.unicode }),
          node("span", { text: `:${code}:` }),
        ]);
        option.addEventListener("mousedown", (event) => { event.preventDefault(); choose(index); });
        return option;
      }),
    );
    list.hidden = false;
    input.setAttribute("aria-activedescendant", `${idPrefix}-sc-${active}`);
  }

  function hide() {
    list.hidden = true;
    matches = [];
    input.removeAttribute("aria-activedescendant");
  }

  function choose(index) {
    const emoji = matches[index];
    const at = current();
    if (!emoji || !at) return hide();
    input.setSelectionRange(at.start, at.end);
    insertAtCursor(input, emoji.unicode);
    hide();
    return undefined;
  }

  input.addEventListener("input", () => { refresh(); });
  input.addEventListener("blur", () => setTimeout(hide, 100));
  // Capture: before the composer's own Enter-to-send.
  input.closest("form").addEventListener("keydown", (event) => {
    if (list.hidden || event.target !== input) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      hide();
    }
  }, true);
  return { list, hide };
}
