"""The Content-Security-Policy is enforced, and the harness notices a violation.

Every browser test fails on a CSP violation (conftest.py ``no_csp_violation``); this test shows
that the watch is real: through the stack, the page's policy refuses an inline script, an
inline ``style`` attribute written as HTML and a script from another origin, and each refusal
is reported to the harness. (Without the policy nothing would be refused and this test fails.)
"""

from __future__ import annotations

import pytest

from browser_harness import CSP_VIOLATIONS, VIEWPORT
from parley_testing import Stack

pytestmark = pytest.mark.e2e

INJECT = """
() => {
  const s = document.createElement('script');
  s.textContent = 'window.__inlineRan = true;';
  document.body.append(s);
  const d = document.createElement('div');
  d.innerHTML = '<p style="color: red">styled</p>';
  document.body.append(d);
  const remote = document.createElement('script');
  remote.src = 'http://127.0.0.2:9/evil.js';
  document.body.append(remote);
  // Preact-style styling through the CSSOM is allowed
  document.body.style.setProperty('--probe', '1');
  return true;
}
"""


def test_the_policy_refuses_inline_and_foreign_code_and_the_harness_reports_it(
    stack: Stack, browser
) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{stack.base_url}/signin")
        page.get_by_label("Email").wait_for()
        assert CSP_VIOLATIONS == [], CSP_VIOLATIONS  # the client itself runs clean
        page.evaluate(INJECT)
        page.wait_for_timeout(1000)
        assert page.evaluate("() => window.__inlineRan === undefined"), "an inline script ran"
        assert page.evaluate("() => getComputedStyle(document.body).getPropertyValue('--probe')") == "1"
        text = "\n".join(CSP_VIOLATIONS)
        # each reported by the page's securitypolicyviolation event, and by Chromium's console
        assert "enforce: script-src-elem refused inline" in text, text
        assert "enforce: style-src-attr refused inline" in text, text
        assert "enforce: script-src-elem refused http://127.0.0.2:9/evil.js" in text, text
        assert "console error: Executing inline script violates" in text, text
    finally:
        CSP_VIOLATIONS.clear()  # expected here: not a failure of this test's teardown
        page.close()
