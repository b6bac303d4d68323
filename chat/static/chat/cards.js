/*
 * Cards in the customer widget (chat/static/chat/widget.js) for two kinds of CSR
 * message: a shared knowledge article (event "article_shared": title, summary, link)
 * and a pushed page (event "page_pushed": "Alex Morgan sent you a page", the note, and
 * Open here / Open in a new tab). Load it before widget.js:
 *   <link rel="stylesheet" href="/static/chat/cards.css">
 *   <script src="/static/chat/cards.js" defer></script>
 * Only http(s) links are shown; every text is set with textContent. "Open here" opens
 * the page in the customer's current tab: the widget keeps its chat in sessionStorage,
 * so a page of the same site that embeds the widget carries on with the chat.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  // Relative links (a portal article page) are the portal's: resolve them against the
  // origin this script came from.
  const base = script && script.src ? new URL(script.src, window.location.href).origin : window.location.origin;

  function safeUrl(raw) {
    if (typeof raw !== "string" || !raw) return null;
    try {
      const url = new URL(raw, base);
      return url.protocol === "https:" || url.protocol === "http:" ? url : null;
    } catch (error) {
      return null;
    }
  }

  function node(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = text;
    return element;
  }

  function meta(author, time) {
    const line = node("p", "cpw-meta");
    line.append(node("span", "cpw-author", author || "Agent"), node("span", "cpw-time", time || ""));
    return line;
  }

  function articleCard(message, info) {
    const data = message.data || {};
    const url = safeUrl(data.url);
    const item = node("li", "cpw-msg cpw-msg--csr cpw-msg--card");
    item.dataset.seq = String(info.seq);
    item.dataset.card = "article";
    const card = node("div", "cpw-card");
    card.append(node("p", "cpw-card__kicker", "Help article"), node("p", "cpw-card__title", data.title || "Article"));
    if (data.summary) card.append(node("p", "cpw-card__text", data.summary));
    if (url) {
      const link = node("a", "cpw-card__action", "Read the article");
      link.href = url.href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      card.append(link);
    }
    item.append(meta(message.author_name, info.time), card);
    return item;
  }

  function pageCard(message, info) {
    const data = message.data || {};
    const url = safeUrl(data.url);
    const item = node("li", "cpw-msg cpw-msg--csr cpw-msg--card");
    item.dataset.seq = String(info.seq);
    item.dataset.card = "page";
    const card = node("div", "cpw-card");
    card.append(node("p", "cpw-card__title", `${message.author_name || "Your agent"} sent you a page`));
    if (data.note) card.append(node("p", "cpw-card__text", data.note));
    if (url) {
      card.append(node("p", "cpw-card__url", url.host + url.pathname));
      const actions = node("div", "cpw-card__actions");
      const here = node("button", "cpw-card__action", "Open");
      here.type = "button";
      here.addEventListener("click", () => window.location.assign(url.href));
      const tab = node("a", "cpw-card__action cpw-card__action--quiet", "Open in a new tab");
      tab.href = url.href;
      tab.target = "_blank";
      tab.rel = "noopener noreferrer";
      actions.append(here, tab);
      card.append(actions);
    }
    item.append(meta(message.author_name, info.time), card);
    return item;
  }

  window.PortalWidgetCards = {
    /** The row for a CSR message with a card, or null for a plain message. */
    render(message, info) {
      if (message.event === "article_shared") return articleCard(message, info);
      if (message.event === "page_pushed") return pageCard(message, info);
      return null;
    },
  };
})();
