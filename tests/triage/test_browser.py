"""A case worker's day in real headless Chromium: log in, filter, open, correct, hand over."""

from __future__ import annotations

import pytest

from routing.intake.models import Report
from routing.learning.models import Label

PASSWORD = "lösenord-123"


def tab_to(page, condition: str, presses: int = 80) -> None:
    """Press Tab until the focused element meets a JavaScript condition (autofocus counts)."""
    for _ in range(presses):
        if page.evaluate(condition):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"never reached with Tab: {condition}")


def log_in(page, live_server, username):
    page.goto(live_server.url + "/konto/login/")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/arenden/**")


@pytest.mark.django_db(transaction=True)
def test_a_case_worker_moves_a_misrouted_report_to_the_right_queue(
    page,
    browser,
    live_server,
    make_routed_report,
    belysning_worker,
    gata_worker,
    active_model,
    screenshots,
):
    lamp = make_routed_report(severity_score=2.0)
    pothole = make_routed_report(
        text="Ett djupt potthål mitt i körbanan på Kungsgatan, bilar väjer in i cykelbanan.",
        severity_score=3.6,
        keywords=["potthål", "Kungsgatan"],
    )

    log_in(page, live_server, "lena")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert pothole.case_number in rows.first.inner_text()  # most severe first
    page.screenshot(path=screenshots / "queue_before_move.png", full_page=True)

    page.get_by_text("Filter och sökning").click()
    page.get_by_label("Sök i rubrik och text").fill("potthål")
    page.get_by_role("button", name="Filtrera").click()
    page.wait_for_url("**q=potth**")  # the filter is in the URL (loaded by htmx)
    assert page.locator("tbody tr").count() == 1

    page.get_by_role("link", name=pothole.case_number).click()
    page.wait_for_url(f"**/arenden/{pothole.case_number}/")
    assert page.locator("mark", has_text="potthål").count() >= 1
    page.screenshot(path=screenshots / "detail_before_move.png", full_page=True)
    page.get_by_role("link", name="Visa vad som styrde fördelningen").click()
    page.get_by_text("Ord som talade för").wait_for()
    assert page.locator("#explanation mark").count() >= 1

    page.get_by_label("Förvaltning", exact=True).select_option("gata_trafik")
    page.get_by_role("button", name="Flytta").click()
    page.wait_for_url("**/arenden/**")
    assert "flyttat till Gata och trafik" in page.get_by_role("status").first.inner_text()
    assert pothole.case_number not in page.locator("tbody").inner_text()
    assert lamp.case_number in page.locator("tbody").inner_text()

    label = Label.objects.get(report=pothole)
    assert (label.field, label.predicted_value, label.value, label.user) == (
        "department",
        "belysning",
        "gata_trafik",
        belysning_worker,
    )
    assert Report.objects.get(pk=pothole.pk).department.code == "gata_trafik"

    colleague = browser.new_context(locale="sv-SE").new_page()
    log_in(colleague, live_server, "goran")
    assert pothole.case_number in colleague.locator("tbody").inner_text()
    colleague.context.close()


@pytest.mark.django_db(transaction=True)
def test_the_queue_works_with_the_keyboard_alone(
    page, live_server, make_routed_report, belysning_worker
):
    report = make_routed_report()
    page.goto(live_server.url + "/konto/login/")
    tab_to(page, "document.activeElement.name === 'username'")
    page.keyboard.type("lena")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/arenden/**")
    tab_to(page, f"document.activeElement.textContent.trim() === '{report.case_number}'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**/arenden/{report.case_number}/")
    tab_to(page, "document.activeElement.textContent.trim() === 'Bekräfta'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert Label.objects.filter(report=report, confirmed=True).count() == 6
