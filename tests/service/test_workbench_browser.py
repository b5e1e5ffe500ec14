"""The case workbench in a real browser: Debian's headless Chromium driven by Playwright.

Answers questions, sees the triage change, opens a derivation, asks why-not,
follows a card's link, and takes a screenshot. Fails in CI when Chromium is
missing (``.ci/run`` installs it) and is skipped, with the reason, elsewhere.
Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from service_support import PATIENT_VIEW, load

from spasm_advisor import Advisor

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        reason = "chromium is not installed (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server.url, "data:")) else outside.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert outside == [], "the workbench must load nothing from elsewhere"
    assert errors == []


def open_workbench(page, url: str) -> None:
    page.goto(url)
    sync_api.expect(page.locator("body")).to_have_attribute("data-ready", "true")


def test_answers_change_the_triage_and_explanations_open(page, server, tmp_path):
    expect = sync_api.expect
    open_workbench(page, server.url + "/")
    # the form is the interview: every fact, grouped, unknown by default
    kb = Advisor.default().knowledge_base
    # Facts recording a "don't know" are set by their question, never asked themselves.
    assert page.locator("[data-question]").count() == sum(1 for f in kb.facts.values() if f.dont_know_for is None)
    assert page.locator('input[name="q-fever"][value="unknown"]').is_checked()
    # Nothing answered: an age not given counts as over 50 with the serious screens open, so a routine review.
    expect(page.locator("#triage")).to_have_attribute("data-level", "routine")
    expect(page.locator("#unanswered li")).to_have_count(len(kb.red_flags()))

    page.fill('input[name="q-age"]', "40")
    page.fill('input[name="q-duration_days"]', "3")
    page.check('input[name="q-fever"][value="yes"]')
    expect(page.locator("#triage")).to_have_attribute("data-level", "urgent")
    expect(page.locator("#unanswered li")).to_have_count(len(kb.red_flags()) - 1)

    page.click('#recommendations li[data-id="urgent_clinician_review"]')
    tree = page.locator("#explanation-tree")
    expect(tree).to_contain_text("referral_urgent")
    expect(tree).to_contain_text("infection_fever")  # the chain down to the answered fact
    expect(tree).to_contain_text("fever = yes")

    page.check('input[name="q-saddle_anaesthesia"][value="yes"]')
    expect(page.locator("#triage")).to_have_attribute("data-level", "emergency")
    # the interview stops after an emergency sign: later questions are disabled
    expect(page.locator('[data-question="posture"]')).to_have_class("question disabled")

    page.select_option("#whynot-select", "chiropractic_care")
    page.click("#whynot-button")
    result = page.locator("#whynot-result")
    expect(result).to_contain_text("chiropractic_care: withheld")
    expect(result).to_contain_text("manipulation_withhold_red_flag")

    page.locator("#triage").click()
    expect(page.locator("#explanation-title")).to_contain_text("Emergency")
    shot = Path(os.environ.get("SPASM_WORKBENCH_SCREENSHOT", tmp_path / "workbench.png"))
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.get_attribute("#audit-link", "href") == "/audit-report"


def test_card_link_opens_the_case_and_its_explanation(page, server, client):
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=load("patient-view-chart.json")).json()
    card = next(c for c in response["cards"] if c["extension"]["spasm-advisor"]["item"] == "nsaid_pain_relief")
    open_workbench(page, card["links"][0]["url"])
    expect = sync_api.expect
    expect(page.locator('input[name="q-age"]')).to_have_value("68")
    assert page.locator('input[name="q-osteoporosis"][value="yes"]').is_checked()
    expect(page.locator("#withheld li[data-id='nsaid_pain_relief']").first).to_be_visible()
    expect(page.locator("#explanation-title")).to_contain_text("Withheld")
    expect(page.locator("#explanation-tree")).to_contain_text("nsaid_withhold_anticoagulants")
