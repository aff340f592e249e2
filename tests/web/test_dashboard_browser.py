"""End to end in real headless Chromium (Debian's, driven by Playwright): the overview after
a delivery, a rollback watched to completion on the rollout page (Server-Sent Events change
the DOM, the page is never reloaded), a promotion approved through the UI. Screenshots go
to ``$SHIPLANE_ARTIFACTS`` (default ``artifacts/screenshots``) for CI to keep."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from shiplane.config import running_stack
from shiplane.web import WebServer

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SERVICE = "payment-service"
ARTIFACTS = Path(os.environ.get("SHIPLANE_ARTIFACTS")
                 or Path(__file__).resolve().parents[2] / "artifacts" / "screenshots")


@pytest.fixture(scope="module")
def server(delivered):
    with WebServer(delivered.app(watch_seconds=5)) as web:
        yield web


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api

    assert CHROMIUM.exists(), "apt-get install chromium (scripts/setup.sh does)"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, token: str) -> None:
    page.goto("/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def test_overview_after_a_delivery(page, delivered):
    page.goto("/")
    row = page.locator("table.matrix tbody tr", has=page.get_by_role("link", name=SERVICE))
    dev = row.locator('td[data-env="dev"]')
    assert dev.locator('.cell[data-model="1"] .tag').inner_text() in delivered.runs[0].image_tags
    assert dev.locator('.cell[data-model="2"] .tag').inner_text() == delivered.tag
    assert "Synced" in dev.inner_text() and "Healthy" in dev.inner_text()
    shot(page, "overview")
    # keyboard: the skip link is the first stop and moves focus to <main>
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # the stack's own dashboard (started by `shiplane up`) serves the same workspace
    stack = running_stack(delivered.state_dir)
    assert stack is not None and stack.web_url
    services = httpx.get(stack.web_url + "/api/overview", timeout=30).json()["services"]
    assert SERVICE in [s["name"] for s in services]


A11Y_PROBLEMS = """() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push('html without lang');
  for (const landmark of ['header', 'nav', 'main', 'footer'])
    if (!document.querySelector(landmark)) problems.push('no <' + landmark + '>');
  for (const field of document.querySelectorAll('input:not([type=hidden]), select, textarea'))
    if (!(field.id && document.querySelector('label[for="' + field.id + '"]'))
        && !field.getAttribute('aria-label')) problems.push('unlabelled ' + field.outerHTML);
  for (const table of document.querySelectorAll('table'))
    if (!table.querySelector('caption')) problems.push('table without caption');
  for (const button of document.querySelectorAll('button, a'))
    if (!button.textContent.trim() && !button.getAttribute('aria-label'))
      problems.push('nameless ' + button.outerHTML);
  return problems; }"""


def test_pages_have_landmarks_labels_captions_and_names(page):
    for path in ("/", "/audit", "/login", "/cluster", f"/services/{SERVICE}"):
        page.goto(path)
        assert page.evaluate(A11Y_PROBLEMS) == [], path
        assert page.locator("h1").count() == 1, path
        if path == "/cluster":
            shot(page, "cluster")


def test_rollback_is_watched_to_completion_over_sse(page, delivered, tokens):
    sign_in(page, tokens["bob"])
    page.goto(f"/services/{SERVICE}")
    run_row = page.locator(f'details[data-run="{delivered.runs[0].id}"]')
    run_row.locator("summary").click()  # htmx loads the steps and logs into the details
    run_row.get_by_text("Log of deploy").wait_for()
    shot(page, "service")
    page.get_by_role("button", name="Roll back to 1").click()
    page.wait_for_url(f"**/services/{SERVICE}/rollouts/dev")
    # record every status line the live region shows, without reloading the page
    page.evaluate("""() => {
        window.__seen = [];
        const note = () => { const s = document.querySelector('[data-testid=rollout-status]');
            const r = document.querySelector('.rollout');
            if (s) window.__seen.push([r.dataset.revision, r.dataset.done, s.textContent.trim()]); };
        note();
        new MutationObserver(note).observe(document.getElementById('live'),
                                           {childList: true, subtree: true});
        window.__loaded = performance.timeOrigin; }""")
    origin = page.evaluate("window.__loaded")
    page.locator('.rollout[data-revision="3"]').wait_for()
    shot(page, "rollout-progress")
    try:
        page.locator('.rollout[data-revision="3"][data-done="true"]').wait_for(timeout=60_000)
    except Exception:
        live = httpx.get(f"{page.url.split('/services')[0]}/api/services/{SERVICE}/"
                         "environments/dev/rollout", timeout=30).json()
        raise AssertionError(f"DOM saw {page.evaluate('window.__seen')}; "
                             f"the cluster: {live['status']} {live['pods']}") from None
    assert page.evaluate("window.__loaded") == origin  # same document: pushed, not reloaded
    seen = page.evaluate("window.__seen")
    assert any(revision == "3" and done == "false" for revision, done, _ in seen), seen
    assert seen[-1][1] == "true" and "Rollout complete" in seen[-1][2]
    # each kind has its own watch: the ReplicaSet's new revision may land a moment later
    page.locator('[data-testid="rs-new"]').wait_for()
    assert page.locator('[data-testid="rs-new"]').count() == 1
    pods = page.locator("li.pod-new")
    assert pods.count() >= 1
    for index in range(pods.count()):
        stages = pods.nth(index).locator("ol.path li")
        assert stages.count() >= 6
        assert stages.nth(5).get_attribute("class") == "stage done"
    assert int(page.get_by_test_id("endpoints").inner_text()) >= 1
    shot(page, "rollout-complete")
    audit = page.goto("/audit?action=rollback")
    assert audit is not None and audit.ok
    assert "bob" in page.locator("table.audit tbody").inner_text()


def test_a_promotion_is_approved_through_the_ui(page, delivered, tokens):
    sign_in(page, tokens["alice"])
    page.goto(f"/services/{SERVICE}")
    own = page.get_by_role("button", name=f"Approve {delivered.tag} to prod")
    assert own.is_disabled()  # the author cannot approve
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, tokens["bob"])
    page.goto(f"/services/{SERVICE}")
    card = page.locator(f'article.promotion[data-branch="{delivered.branch}"]')
    assert "FAIL approval" in " ".join(card.locator(".gates").inner_text().split())
    shot(page, "promotion-pending")
    page.get_by_role("button", name=f"Approve {delivered.tag} to prod").click()
    page.wait_for_url(f"**/services/{SERVICE}")
    assert page.locator("article.promotion").count() == 0
    values = (delivered.platform / "prod" / SERVICE / "values.yaml").read_text()
    assert f'tag: "{delivered.tag}"' in values
    page.goto("/audit?env=prod&action=promote")
    rows = page.locator("table.audit tbody tr")
    text = rows.first.inner_text()
    assert "promote" in text and "alice" in text and "approved by bob" in text
    shot(page, "audit")
