"""Article Markdown is rendered on the server and sanitised: nothing from an author can
run in a browser."""

from html.parser import HTMLParser

import pytest

from assist.markdown import ALLOWED_TAGS, plain_summary, render, sanitize


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_inert(html: str) -> None:
    """Only allowed tags, no event attribute, links only to http(s)/mailto."""
    for tag, attrs in tags_of(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if "href" in attrs:
            assert (attrs["href"] or "").split(":")[0].lower() in {"http", "https", "mailto"}, attrs


def test_markdown_renders_the_usual_formatting():
    html = render(
        "# Title\n\nSome **bold** and a [link](https://northwind.example/help).\n\n- one\n- two"
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert (
        '<a href="https://northwind.example/help" rel="noopener noreferrer nofollow">link</a>'
        in html
    )
    assert "<li>one</li>" in html


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "Hello <script src=https://evil.example/x.js></script> there",
        "<img src=x onerror=alert(1)>",
        '<a href="https://ok.example" onclick="alert(1)">x</a>',
        "<div onmouseover='alert(1)'>hover</div>",
        "<iframe src=https://evil.example></iframe>",
        "<svg onload=alert(1)>",
        "<style>body{display:none}</style>",
    ],
)
def test_raw_html_from_authors_is_shown_as_text_never_as_markup(body):
    html = render(body)
    assert_inert(html)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert "<style" not in html and "<svg" not in html


@pytest.mark.parametrize(
    "body",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](javascript&#58;alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_link_schemes_are_removed(body):
    html = render(body)
    assert_inert(html)
    assert 'href="javascript' not in html.lower()


def test_event_attributes_are_dropped_even_on_allowed_tags():
    html = sanitize('<p onclick="x()">hi</p><a href="https://a.example" onmouseover="x()">a</a>')
    assert html == '<p>hi</p><a href="https://a.example" rel="noopener noreferrer nofollow">a</a>'


def test_a_javascript_href_is_dropped_by_the_sanitiser_itself():
    html = sanitize('<a href="javascript:alert(1)">x</a>')
    assert html == '<a rel="noopener noreferrer nofollow">x</a>'


def test_summary_is_the_first_paragraph_as_plain_text():
    assert plain_summary("Block your **card** now.\n\nMore text.") == "Block your card now."
