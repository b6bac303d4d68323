// The chat panel's helpers (the assist app): the Assist tab (suggested replies pushed over
// the chat socket, common phrases with search) and `/shortcut` completion in the message
// box, the Knowledge tab (search, read in place, Share) and page push. Inserting a phrase
// only fills the message box; sharing and pushing store a message like any other.
// Text from the server is set with textContent; an article's body is HTML the server
// rendered and sanitised (assist/markdown.py).

import { el, getJSON, postJSON } from "./util.js";

const SLASH = /(^|\s)\/([\w-]*)$/;

function clientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "a-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

function whyText(why) {
  const parts = [];
  if (why.words && why.words.length) parts.push(`Matched: ${why.words.join(", ")}`);
  if (why.intent) parts.push(`Intent: ${why.intent}`);
  if (why.picked) parts.push(`Used ${why.picked} time${why.picked === 1 ? "" : "s"} for this intent`);
  return parts.join(" · ") || "Relevant to this chat";
}

class Assist {
  constructor(panel) {
    this.panel = panel;
    this.root = panel.root;
    this.id = panel.id;
    this.f = (name) => this.root.querySelector(`[data-field="${name}"]`);
    this.phrases = [];
    this.box = this.root.querySelector('[data-field="composer"] textarea');
    this.wirePhrases();
    this.wireSlash();
    this.wireKnowledge();
    this.wirePush();
    this.root.addEventListener("chatframe", (event) => this.frame(event.detail));
    this.root.addEventListener("sidetab", (event) => {
      if (event.detail.name === "knowledge" && !this.searched) this.search("");
    });
    this.loadPhrases();
    this.loadSuggestions();
  }

  live() {
    return this.panel.data.mode === "live" && !this.panel.isRevoked && this.panel.role === "csr";
  }

  api(path) {
    return `/portal-api/assist/interactions/${this.id}/${path}`;
  }

  toast(text) {
    this.panel.toast(text);
  }

  // --- Phrases ------------------------------------------------------------------------

  async loadPhrases() {
    try {
      const data = await getJSON(this.api("phrases/"));
      this.phrases = data.phrases;
    } catch (error) {
      this.phrases = [];
    }
    this.renderPhrases();
    // A /shortcut typed before the phrases arrived gets its list now.
    if (this.box && document.activeElement === this.box) this.slashUpdate();
  }

  matching(q) {
    q = q.trim().toLowerCase().replace(/^\//, "");
    if (!q) return this.phrases;
    return this.phrases.filter((p) => p.shortcut.toLowerCase().startsWith(q) || p.title.toLowerCase().includes(q) || p.text.toLowerCase().includes(q));
  }

  wirePhrases() {
    const search = this.f("phrase-search");
    if (search) search.addEventListener("input", () => this.renderPhrases());
  }

  renderPhrases() {
    const list = this.f("phrases");
    if (!list) return;
    const found = this.matching(this.f("phrase-search").value);
    list.replaceChildren();
    for (const phrase of found.slice(0, 50)) {
      const li = el("li", { class: "assist__item", dataset: { phrase: String(phrase.id) } });
      const head = el("p", { class: "assist__item-title" });
      head.append(el("span", {}, phrase.title));
      if (phrase.shortcut) head.append(el("code", { class: "assist__shortcut" }, `/${phrase.shortcut}`));
      if (phrase.personal) head.append(el("span", { class: "assist__tag" }, "Mine"));
      const button = el("button", { type: "button", class: "btn btn--small", "aria-label": `Insert ${phrase.title}` }, "Insert");
      button.addEventListener("click", () => this.insert(phrase, { suggested: false }));
      li.append(head, el("p", { class: "assist__item-text" }, phrase.text), button);
      list.append(li);
    }
    if (!found.length) list.append(el("li", { class: "empty" }, this.phrases.length ? "No phrase matches." : "No phrases for this chat."));
  }

  /** Put the phrase's text into the message box (replacing a /shortcut being typed);
   *  the CSR edits and sends it. */
  insert(phrase, { suggested = false, replaceSlash = false } = {}) {
    if (!this.live() || !this.box) { this.toast("You can only insert phrases in a chat you are handling."); return; }
    const box = this.box;
    const caret = box.selectionStart ?? box.value.length;
    let before = box.value.slice(0, caret);
    const after = box.value.slice(box.selectionEnd ?? caret);
    if (replaceSlash) {
      const match = before.match(SLASH);
      if (match) before = before.slice(0, before.length - match[0].length) + match[1];
    }
    box.value = before + phrase.text + after;
    const end = before.length + phrase.text.length;
    box.focus();
    box.setSelectionRange(end, end);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    postJSON(this.api("phrases/used/"), { phrase_id: phrase.id, suggested }).catch(() => {});
  }

  // --- /shortcut completion ------------------------------------------------------------

  wireSlash() {
    const box = this.box;
    if (!box) return;
    const form = box.closest("form");
    this.slashList = el("ul", { class: "slash", role: "listbox", id: `slash-${this.id}`, "aria-label": "Phrases", hidden: true });
    this.slashStatus = el("p", { class: "visually-hidden", role: "status" });
    form.append(this.slashList, this.slashStatus);
    box.setAttribute("aria-controls", this.slashList.id);
    box.addEventListener("input", () => this.slashUpdate());
    box.addEventListener("blur", () => setTimeout(() => this.slashClose(), 150));
    // Capture on the form: runs before the message box's own Enter-sends handler.
    form.addEventListener("keydown", (event) => {
      if (event.target !== box || this.slashList.hidden) return;
      const options = [...this.slashList.querySelectorAll('[role="option"]')];
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        const step = event.key === "ArrowDown" ? 1 : -1;
        this.slashActive = (this.slashActive + step + options.length) % options.length;
        this.slashHighlight();
      } else if (event.key === "Enter" || event.key === "Tab") {
        const phrase = this.slashItems[this.slashActive];
        this.slashClose();
        if (phrase) this.insert(phrase, { replaceSlash: true });
      } else if (event.key === "Escape") {
        this.slashClose();
      } else {
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
    }, true);
  }

  slashUpdate() {
    const box = this.box;
    const match = box.value.slice(0, box.selectionStart ?? box.value.length).match(SLASH);
    if (!match || !this.live()) { this.slashClose(); return; }
    const q = match[2].toLowerCase();
    this.slashItems = this.phrases.filter((p) => p.shortcut && p.shortcut.toLowerCase().startsWith(q)).slice(0, 8);
    if (!this.slashItems.length && q) this.slashItems = this.matching(q).slice(0, 8);
    this.slashActive = 0;
    this.slashList.replaceChildren();
    this.slashItems.forEach((phrase, index) => {
      const option = el("li", { role: "option", id: `slash-${this.id}-${index}`, class: "slash__option", "aria-selected": "false" });
      option.append(el("span", { class: "slash__key" }, phrase.shortcut ? `/${phrase.shortcut}` : phrase.title), el("span", { class: "slash__text" }, phrase.text));
      option.addEventListener("mousedown", (event) => {
        event.preventDefault(); // keep the focus in the message box
        this.slashClose();
        this.insert(phrase, { replaceSlash: true });
      });
      this.slashList.append(option);
    });
    this.slashList.hidden = !this.slashItems.length;
    this.slashStatus.textContent = this.slashItems.length
      ? `${this.slashItems.length} phrase${this.slashItems.length === 1 ? "" : "s"}: arrow keys to choose, Enter to insert`
      : "";
    this.slashHighlight();
  }

  slashHighlight() {
    const options = [...this.slashList.querySelectorAll('[role="option"]')];
    options.forEach((option, index) => option.setAttribute("aria-selected", String(index === this.slashActive)));
    if (options[this.slashActive]) this.box.setAttribute("aria-activedescendant", options[this.slashActive].id);
    else this.box.removeAttribute("aria-activedescendant");
  }

  slashClose() {
    if (!this.slashList || this.slashList.hidden) return;
    this.slashList.hidden = true;
    this.slashList.replaceChildren();
    this.slashStatus.textContent = "";
    this.box.removeAttribute("aria-activedescendant");
  }

  // --- Suggestions ------------------------------------------------------------------------

  frame(frame) {
    if (frame.type === "assist.suggestions" && frame.interaction_id === this.id) {
      if (frame.seq < (this.suggestedSeq || 0)) return; // an older ranking arrived late
      this.suggestedSeq = frame.seq;
      this.renderSuggestions(frame.items);
    }
  }

  async loadSuggestions() {
    if (this.panel.data.mode !== "live") return;
    try {
      const data = await getJSON(this.api("suggestions/"));
      if (!this.suggestedSeq) this.renderSuggestions(data.items);
    } catch (error) {
      // Pushed ones arrive with the next customer message.
    }
  }

  renderSuggestions(items) {
    const list = this.f("suggestions");
    if (!list) return;
    list.replaceChildren();
    this.f("suggest-empty").hidden = items.length > 0;
    for (const item of items) {
      const li = el("li", { class: `assist__item assist__item--${item.kind}`, dataset: { suggestion: `${item.kind}-${item.id}` } });
      const head = el("p", { class: "assist__item-title" });
      head.append(el("span", { class: "assist__tag" }, item.kind === "phrase" ? "Phrase" : "Article"), el("span", {}, item.title));
      li.append(head, el("p", { class: "assist__item-text" }, item.kind === "phrase" ? item.text : item.summary), el("p", { class: "assist__why" }, whyText(item.why)));
      const button = el("button", { type: "button", class: "btn btn--small", "aria-label": `${item.kind === "phrase" ? "Insert" : "Share"} ${item.title}` }, item.kind === "phrase" ? "Insert" : "Share");
      button.addEventListener("click", () => {
        if (item.kind === "phrase") this.insert(item, { suggested: true });
        else this.share(item.id, { suggested: true });
      });
      li.append(button);
      list.append(li);
    }
  }

  // --- Knowledge ------------------------------------------------------------------------

  wireKnowledge() {
    const input = this.f("kb-search");
    if (!input) return;
    this.f("kb-form").addEventListener("submit", (event) => { event.preventDefault(); this.search(input.value); });
    input.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(input.value), 200);
    });
    this.f("kb-back").addEventListener("click", () => this.closeArticle());
    this.f("kb-share").addEventListener("click", () => { if (this.article) this.share(this.article.id); });
    this.f("kb-push").addEventListener("click", () => {
      if (!this.article || !this.article.public_url) return;
      this.f("push-url").value = this.article.public_url;
      this.f("push-note").value = this.article.title;
      this.f("push-url").focus();
    });
  }

  async search(q) {
    this.searched = true;
    const request = (this.searchRequest = (this.searchRequest || 0) + 1);
    const opened = this.opened || 0;
    const list = this.f("kb-results");
    let data;
    try {
      data = await getJSON(`/portal-api/assist/articles/?interaction=${this.id}&q=${encodeURIComponent(q.trim())}`);
    } catch (error) {
      if (request === this.searchRequest) list.replaceChildren(el("li", { class: "empty" }, error.message));
      return;
    }
    if (request !== this.searchRequest) return;
    // An article opened while this search ran stays open (the list refreshes behind it).
    if (opened === this.opened) this.closeArticle({ focus: false });
    list.replaceChildren();
    for (const article of data.articles) {
      const li = el("li", { class: "assist__item", dataset: { article: String(article.id) } });
      const open = el("button", { type: "button", class: "assist__link" }, article.title);
      open.addEventListener("click", () => this.openArticle(article.id));
      li.append(open, el("p", { class: "assist__item-text" }, article.summary));
      if (article.category) li.append(el("p", { class: "assist__why" }, article.category));
      list.append(li);
    }
    if (!data.articles.length) list.append(el("li", { class: "empty" }, "No article matches."));
  }

  async openArticle(articleId) {
    this.opened = (this.opened || 0) + 1;
    let article;
    try {
      article = await getJSON(`/portal-api/assist/articles/${articleId}/`);
    } catch (error) {
      this.toast(error.message);
      return;
    }
    this.article = article;
    this.f("kb-article-title").textContent = article.title;
    this.f("kb-article-meta").textContent = [article.category, article.tags.join(", ")].filter(Boolean).join(" · ");
    // Rendered from Markdown and sanitised by the server (nh3): no script, no handlers.
    this.f("kb-article-body").innerHTML = article.html;
    this.f("kb-push").hidden = !article.public_url;
    this.f("kb-share").disabled = !this.live();
    this.f("kb-results").hidden = true;
    const box = this.f("kb-article");
    box.hidden = false;
    this.f("kb-article-title").tabIndex = -1;
    this.f("kb-article-title").focus();
  }

  closeArticle({ focus = true } = {}) {
    const box = this.f("kb-article");
    if (box.hidden) return;
    box.hidden = true;
    this.f("kb-results").hidden = false;
    const id = this.article && this.article.id;
    this.article = null;
    if (focus) {
      const button = this.root.querySelector(`[data-article="${id}"] button`) || this.f("kb-search");
      button.focus();
    }
  }

  async share(articleId, { suggested = false } = {}) {
    if (!this.live()) { this.toast("You can only share articles in a chat you are handling."); return; }
    try {
      await postJSON(this.api("share/"), { article_id: articleId, client_msg_id: clientId(), suggested });
      this.toast("Article shared with the customer.");
    } catch (error) {
      this.toast(error.message);
    }
  }

  // --- Page push -------------------------------------------------------------------------

  wirePush() {
    const form = this.f("push-form");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = this.f("push-error");
      error.hidden = true;
      if (!this.live()) { error.textContent = "You can only push pages in a chat you are handling."; error.hidden = false; return; }
      try {
        await postJSON(this.api("push/"), { url: this.f("push-url").value.trim(), note: this.f("push-note").value, client_msg_id: clientId() });
        this.f("push-url").value = "";
        this.f("push-note").value = "";
        this.toast("Page sent to the customer.");
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    });
  }
}

/** Wire the assist tabs of a chat panel (called by ChatPanel.wire). A panel that only
 *  watches a chat gets no assist tabs. */
export function wireAssist(panel) {
  if (!panel.root.querySelector('[data-side-panel="assist"]')) return null;
  if (panel.data.mode !== "live") {
    for (const name of ["assist", "knowledge"]) {
      const tab = panel.root.querySelector(`[data-side-tab="${name}"]`);
      if (tab) tab.hidden = true;
    }
    return null;
  }
  return new Assist(panel);
}
