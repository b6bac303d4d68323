"""Knowledge articles' Markdown, rendered on the server and sanitised before it reaches a
browser: markdown-it-py escapes raw HTML, then nh3 (Ammonia) keeps only a small set of
tags and attributes and http(s)/mailto links."""

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize(html: str) -> str:
    """Keep only the allowed tags, attributes and link schemes; links open safely."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render(body: str) -> str:
    """An article's Markdown as safe HTML."""
    return sanitize(_markdown.render(body or ""))


def plain_summary(body: str, *, limit: int = 240) -> str:
    """The first paragraph of the Markdown as plain text, for a card without a summary."""
    for token in _markdown.parse(body or ""):
        if token.type != "inline":
            continue
        parts = []
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
        text = " ".join("".join(parts).split())
        if text:
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return ""
