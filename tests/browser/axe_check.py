"""Accessibility checks of a page with axe-core (Deque's engine, the npm package ``axe-core``,
a devDependency of web/package.json installed by ``./taskw install:web``).

axe's source is evaluated in the page through Playwright (the DevTools protocol), not added as
a ``<script>`` tag: the client's Content-Security-Policy refuses inline scripts, and the
``no_csp_violation`` fixture would (rightly) report one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from playwright.sync_api import Page

from browser_harness import PHONE, REPO, VIEWPORT

AXE_JS = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"

#: the rule sets run: WCAG 2.0 and 2.1, levels A and AA, and Deque's best practices
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

#: nodes listed per violated rule in a failure message
NODES_SHOWN = 8


@cache
def _axe_source() -> str:
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run ./taskw install:web (npm ci in web/)"
    return AXE_JS.read_text()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations of the whole document of ``page`` now, for the rules of
    :data:`AXE_TAGS` (axe's ``runOnly`` by tag; only the ``violations`` result type)."""
    if page.evaluate("() => typeof window.axe") != "object":
        page.evaluate(_axe_source())
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']}).then(r => r.violations)", AXE_TAGS)


def format_violations(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violated rule: its id, impact and help, then the failing nodes'
    targets (CSS selectors) with axe's summary of what to fix."""
    lines = []
    for rule in violations:
        lines.append(f"- {rule['id']} ({rule.get('impact') or 'no impact'}): {rule['help']}"
                     f" [{rule['helpUrl'].split('?')[0]}]")
        for node in rule["nodes"][:NODES_SHOWN]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' > '.join(map(str, node['target']))}: {summary}")
        if len(rule["nodes"]) > NODES_SHOWN:
            lines.append(f"    … and {len(rule['nodes']) - NODES_SHOWN} more")
    return "\n".join(lines)


def assert_no_axe_violations(page: Page, screen_name: str) -> None:
    """Fail with a readable list unless axe-core finds no violation on ``page`` as it is now.

    The rules run are those tagged ``wcag2a``, ``wcag2aa``, ``wcag21a``, ``wcag21aa`` (WCAG
    2.0 and 2.1, levels A and AA) and ``best-practice`` (:data:`AXE_TAGS`); none is disabled.
    The message names ``screen_name`` and the viewport, then per violated rule its id, impact,
    help and the failing nodes' targets."""
    violations = axe_violations(page)
    size = page.viewport_size or {}
    where = f"{screen_name} at {size.get('width')}x{size.get('height')}"
    assert not violations, f"axe found {len(violations)} violated rule(s) on {where}:\n" + \
        format_violations(violations)


#: how much wider than the viewport the document is, and the outermost elements that stick out
#: on the right (each as tag#id.class and its right edge)
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const out = [...document.body.querySelectorAll('*')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > width + 0.5 && !(el.parentElement
      && el.parentElement.getBoundingClientRect().right > width + 0.5);
  });
  return {excess: document.documentElement.scrollWidth - width,
          elements: out.slice(0, 8).map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
            `${[...el.classList].map(c => '.' + c).join('')} (right edge ${Math.round(el.getBoundingClientRect().right)})`)};
}
"""


def assert_no_horizontal_scroll(page: Page, screen_name: str) -> None:
    """Fail when the document is wider than the viewport: WCAG 2.1 success criterion 1.4.10
    (Reflow, AA) asks for no scrolling in two directions at a phone's width, and axe has no
    rule for it. The message names the outermost elements that stick out on the right."""
    found = page.evaluate(OVERFLOW_JS)
    size = page.viewport_size or {}
    assert found["excess"] <= 0, (
        f"{screen_name} at {size.get('width')}x{size.get('height')} scrolls sideways by "
        f"{found['excess']} px: " + ", ".join(found["elements"]))


def _settle(page: Page) -> None:
    """Two animation frames: the layout of a new viewport (media queries, resize handlers) is
    rendered before it is read."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def assert_screen_accessible(page: Page, screen_name: str) -> None:
    """:func:`assert_no_axe_violations` at 1280x720 and at 390x844 (the phone layout), then at
    1280x720 with the dark colour scheme (``prefers-color-scheme: dark``: the client has a dark
    palette, and contrast is what it changes); :func:`assert_no_horizontal_scroll` at 390x844.
    The page is left light, at 1280x720."""
    try:
        for size in (VIEWPORT, PHONE):
            page.set_viewport_size(size)
            _settle(page)
            assert_no_axe_violations(page, screen_name)
        assert_no_horizontal_scroll(page, screen_name)
        page.set_viewport_size(VIEWPORT)
        page.emulate_media(color_scheme="dark")
        _settle(page)
        assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
        assert_no_axe_violations(page, f"{screen_name} (dark)")
    finally:
        page.emulate_media(color_scheme="light")
        page.set_viewport_size(VIEWPORT)
        _settle(page)
