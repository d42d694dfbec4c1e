"""A resident files a report in real headless Chromium; a real worker routes it."""

from __future__ import annotations

import re

import pytest

from routing.intake.models import Report

TEXT = "Det ligger en stor trasig gren över gångvägen i Stadsparken, barn går där varje morgon."


@pytest.mark.django_db(transaction=True)
def test_a_resident_files_a_report_in_the_browser_and_it_is_routed(
    page, live_server, active_model, celery_worker, wait_until, screenshots
):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Lämna en felanmälan eller synpunkt").click()
    page.screenshot(path=screenshots / "report_form.png", full_page=True)

    # Submitting empty shows the Swedish error summary, linked to the field.
    page.get_by_role("button", name="Skicka").click()
    assert page.title().startswith("Fel:")
    page.get_by_role("link", name=re.compile("Beskriv")).click()
    assert page.evaluate("document.activeElement.name") == "text"

    page.get_by_label("Beskriv ärendet").fill(TEXT)
    page.get_by_label("Plats").fill("Stadsparken")
    page.get_by_label("E-post").fill("karin@example.se")
    page.get_by_role("button", name="Skicka").click()

    heading = page.get_by_role("heading", level=1).inner_text()
    match = re.search(r"nummer (\d{4}-\d{5})", heading)
    assert match, heading
    page.screenshot(path=screenshots / "receipt.png", full_page=True)
    report = wait_until(
        lambda: Report.objects.filter(
            case_number=match.group(1), status=Report.Status.ROUTED
        ).first()
    )
    assert report.text == TEXT
    assert report.channel == "web"
    assert report.department.code == "park_natur"


@pytest.mark.django_db(transaction=True)
def test_the_form_works_with_the_keyboard_alone(page, live_server):
    page.goto(live_server.url + "/anmal/")
    page.keyboard.press("Tab")  # the skip link comes first
    focused = page.evaluate("document.activeElement.textContent")
    assert "innehåll" in focused.lower()
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "text":
            break
    page.keyboard.type("Gatlampan vid Kyrkvägen 3 är släckt.")
    while page.evaluate("document.activeElement.type") != "submit":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/kvitto/")
    assert Report.objects.count() == 1
