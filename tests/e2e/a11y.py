"""Accessibility checks for the browser tests: axe-core (tests/e2e/vendor/axe.min.js,
never served by the product) run on the page as it is, failing on critical or serious
violations of WCAG 2.0/2.1/2.2 A and AA.

Playwright injects the script inline, which the portal's CSP forbids: a test using
these helpers runs in a browser context with `bypass_csp=True`."""

from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"critical", "serious"}

RUN_AXE = """async ([context, tags]) => {
    const root = context ? document.querySelector(context) : document;
    const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
    const result = await axe.run(root, options);
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
    }));
}"""


# Waits (at most 1 s) for the page's finite animations; endless ones (a spinner) are left.
FINITE_ANIMATIONS_DONE = """() => Promise.race([
    Promise.all(document.getAnimations()
        .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
        .map((a) => a.finished.catch(() => null))),
    new Promise((resolve) => setTimeout(resolve, 1000)),
])"""


def axe_violations(page: Page, *, context: str | None = None) -> list[dict]:
    """Every axe violation on the page (or within the CSS selector `context`)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    # Colours are measured as drawn: a panel still fading in (the widget's 160 ms rise)
    # has its text at part opacity, which axe reads as too little contrast.
    page.evaluate(FINITE_ANIMATIONS_DONE)
    return page.evaluate(RUN_AXE, [context, TAGS])


def describe(violations: list[dict]) -> str:
    """One line per rule, then up to eight of the elements it failed on."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:8]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}: {summary[:300]}")
    return "\n".join(lines)


def failures(page: Page, name: str, *, context: str | None = None) -> str:
    """The critical and serious violations on the page, readable; "" when none."""
    found = [v for v in axe_violations(page, context=context) if v["impact"] in FAILING_IMPACTS]
    return f"axe-core found in {name}:\n{describe(found)}" if found else ""


def assert_accessible(page: Page, name: str, *, context: str | None = None) -> None:
    """Fail with a readable list if axe finds a critical or serious violation."""
    problems = failures(page, name, context=context)
    assert not problems, problems


class AxeGate:
    """Checks several states of a page in one test and fails once at the end, listing
    every state with a critical or serious violation (one run shows them all)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Page, name: str, *, context: str | None = None) -> None:
        self.checked.append(name)
        problems = failures(page, name, context=context)
        if problems:
            self.problems.append(problems)

    def assert_clean(self) -> None:
        assert self.checked, "no page state was checked"
        assert not self.problems, "\n".join(self.problems)
