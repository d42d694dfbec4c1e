"""The label statistics page: who may open it, its figures from real confirmations and
corrections, its charts, the period filter, and the labelled-data download."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ml import data
from routing.intake import services as intake
from routing.intake.models import Report
from routing.learning.models import Label
from routing.triage import services as triage
from tests.ml.test_validate import run_cli

PNG = b"\x89PNG\r\n\x1a\n"

# Distinct texts (the corpus validator refuses near-duplicates), each with its keywords.
LAMP = "Gatlampan på Storgatan 14 är släckt sedan en vecka och det är mörkt vid övergångsstället."
HOLE = "Det finns ett djupt hål i asfalten på Kyrkogatan utanför apoteket, cyklister väjer ut."
BENCH = "Parkbänken vid dammen i Stadsparken är sönder och en planka sticker upp med spikar i."
BIN = "Papperskorgen vid lekplatsen på Ängsvägen är överfull och skräpet blåser ut på gräset."
BLINK = "Flera gatlyktor i Ekbacken blinkar hela nätterna, det stör oss som bor på Lönnvägen."
KEYWORDS = {
    LAMP: ["Gatlampan", "Storgatan 14"],
    HOLE: ["hål i asfalten", "Kyrkogatan"],
    BENCH: ["Parkbänken", "Stadsparken"],
    BIN: ["Papperskorgen", "Ängsvägen"],
    BLINK: ["gatlyktor", "Ekbacken"],
}


def weeks_ago(n: int) -> datetime:
    """Wednesday noon, local time, of the ISO week `n` weeks before this one."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday(), weeks=n)
    return timezone.make_aware(datetime.combine(monday + timedelta(days=2), time(12)))


def in_week(report, n: int) -> None:
    """Move a report's receipt and every label it has so far into an earlier week."""
    Report.objects.filter(pk=report.pk).update(received_at=weeks_ago(n))
    Label.objects.filter(report=report).update(created_at=weeks_ago(n))


class Tables(HTMLParser):
    """The page's tables as the reader sees them: caption, then rows of cell texts."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._caption = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._caption = True
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._caption = False
        elif tag in ("th", "td") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None

    def handle_data(self, text):
        if self._caption:
            self.tables[-1]["caption"] += text
        elif self._cell is not None:
            self._cell.append(text)

    def rows(self, caption: str) -> dict[str, list[str]]:
        """The rows of the table whose caption starts so, by their first cell."""
        [table] = [t for t in self.tables if t["caption"].strip().startswith(caption)]
        return {row[0]: row[1:] for row in table["rows"]}


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def labelled(make_routed_report, belysning_worker, coordinator):
    """Reports confirmed and corrected by case workers, as in the triage UI.

    Two weeks ago: LAMP (belysning) confirmed, every field kept.
    This week: HOLE moved belysning → gata_trafik; BENCH moved belysning → vinter and then
    → gata_trafik (the later label supersedes); BIN moved park_natur → avfall; BLINK's
    severity corrected 2 → 4, then the report confirmed.
    """
    reports = {}
    reports["lamp"] = make_routed_report(text=LAMP, keywords=KEYWORDS[LAMP])
    triage.confirm(reports["lamp"], belysning_worker)
    in_week(reports["lamp"], 2)

    reports["hole"] = make_routed_report(text=HOLE, keywords=KEYWORDS[HOLE])
    triage.correct(reports["hole"], coordinator, "department", "gata_trafik")

    reports["bench"] = make_routed_report(text=BENCH, keywords=KEYWORDS[BENCH])
    triage.correct(reports["bench"], coordinator, "department", "vinter")
    triage.correct(reports["bench"], coordinator, "department", "gata_trafik")

    reports["bin"] = make_routed_report(text=BIN, department="park_natur", keywords=KEYWORDS[BIN])
    triage.correct(reports["bin"], coordinator, "department", "avfall")

    reports["blink"] = make_routed_report(text=BLINK, keywords=KEYWORDS[BLINK])
    triage.correct(reports["blink"], belysning_worker, "severity", 4)
    triage.confirm(reports["blink"], belysning_worker)
    return reports


def stats_url(**query):
    url = reverse("learning:stats")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def every_url():
    return [
        reverse("learning:stats"),
        reverse("learning:stats_chart", args=["overensstammelse"]),
        reverse("learning:stats_chart", args=["granskning"]),
        reverse("learning:export_labels"),
    ]


# Permissions -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    for url in every_url():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("persona", ["belysning_worker", "coordinator", "outsider"])
def test_everyone_but_administrators_is_refused(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    for url in every_url():
        assert client.get(url).status_code == 403, url


def test_administrators_get_the_page_the_charts_and_the_export(admin_client, labelled):
    page = admin_client.get(reverse("learning:stats"))
    assert page.status_code == 200
    assert "<h1>Etikettstatistik</h1>" in page.content.decode()
    for chart in ("overensstammelse", "granskning"):
        response = admin_client.get(reverse("learning:stats_chart", args=[chart]))
        assert response.status_code == 200, chart
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(PNG), chart
    export = admin_client.get(reverse("learning:export_labels"))
    assert export.status_code == 200
    assert b"".join(export.streaming_content).count(b"\n") == 5


def test_an_unknown_chart_is_not_found(admin_client):
    assert admin_client.get(reverse("learning:stats_chart", args=["tarta"])).status_code == 404


def test_the_page_is_linked_from_the_models_page(admin_client):
    page = admin_client.get(reverse("learning:models")).content.decode()
    assert f'href="{reverse("learning:stats")}"' in page


def test_the_charts_draw_without_any_data(admin_client):
    for chart in ("overensstammelse", "granskning"):
        response = admin_client.get(reverse("learning:stats_chart", args=[chart]))
        assert response.content.startswith(PNG), chart


# The figures -------------------------------------------------------------------------------


def test_the_table_counts_labels_per_department_and_field(admin_client, labelled):
    tables = Tables(admin_client.get(stats_url()).content.decode())
    rows = tables.rows("Etiketter givna under perioden")
    header = rows.pop("Ärendets förvaltning")
    assert header == [
        "Förvaltning",
        "Ärendetyp",
        "Sentiment",
        "Allvarlighet",
        "Taggar",
        "Nyckelord",
        "Bekräftelser",
        "Rättelser",
        "Totalt",
    ]
    # LAMP and BLINK stayed in Gatubelysning: two confirmations of six fields, and one
    # severity correction.
    assert rows["Gatubelysning"] == ["2", "2", "2", "3", "2", "2", "12", "1", "13"]
    # HOLE and BENCH (two labels) ended in Gata och trafik, BIN in Avfall.
    assert rows["Gata och trafik"] == ["3", "0", "0", "0", "0", "0", "0", "3", "3"]
    assert rows["Avfall och återvinning"] == ["1", "0", "0", "0", "0", "0", "0", "1", "1"]
    assert rows["Park och natur"] == ["0"] * 9
    assert rows["Vinterväghållning"] == ["0"] * 9
    assert rows["Totalt"] == ["6", "2", "2", "3", "2", "2", "12", "5", "17"]
    assert len(rows) == 15  # 14 departments and the totals


def test_agreement_is_the_share_of_labels_that_kept_the_models_value(admin_client, labelled):
    page = admin_client.get(stats_url())
    tables = Tables(page.content.decode())
    rows = tables.rows("Behöll modellens värde")
    weeks = list(rows)
    assert weeks[0] == "Vecka"
    assert len(weeks) == 1 + 12
    two_weeks_ago = f"v. {weeks_ago(2).isocalendar().week} {weeks_ago(2).isocalendar().year}"
    this_week = weeks[-1]
    assert weeks[-3] == two_weeks_ago
    assert rows[two_weeks_ago] == ["100 % (1 av 1)"] * 6
    # This week: department kept once (BLINK's confirmation) among 5 labels; severity never
    # (BLINK corrected to 4, and confirmed at 4); the other fields kept at BLINK's confirmation.
    assert rows[this_week] == [
        "20 % (1 av 5)",
        "100 % (1 av 1)",
        "100 % (1 av 1)",
        "0 % (0 av 2)",
        "100 % (1 av 1)",
        "100 % (1 av 1)",
    ]
    assert rows[weeks[-2]] == ["– inga etiketter"] * 6

    by_week = {week.week: week for week in page.context["agreement"]}
    department = by_week[weeks_ago(0).date() - timedelta(days=2)].fields["department"]
    assert (department.kept, department.total, department.share) == (1, 5, 0.2)


def test_the_departments_confused_most_count_each_reports_latest_label(
    admin_client, labelled, coordinator
):
    tables = Tables(admin_client.get(stats_url()).content.decode())
    rows = list(tables.rows("Där handläggaren rättade förvaltningen").values())
    # BENCH's first move to Vinterväghållning was superseded by its move to Gata och trafik.
    assert rows == [
        ["Modellens förvaltning", "Handläggarens förvaltning", "Ärenden"],
        ["Gatubelysning", "Gata och trafik", "2"],
        ["Park och natur", "Avfall och återvinning", "1"],
    ]

    # Moved back to where the model had it: the model was right after all.
    triage.correct(labelled["bin"], coordinator, "department", "park_natur")
    tables = Tables(admin_client.get(stats_url()).content.decode())
    rows = list(tables.rows("Där handläggaren rättade förvaltningen").values())
    assert rows[1:] == [["Gatubelysning", "Gata och trafik", "2"]]


def test_the_confused_pairs_are_the_top_ten(admin_client, make_routed_report, coordinator):
    departments = [
        "gata_trafik",
        "vinter",
        "park_natur",
        "avfall",
        "vatten_avlopp",
        "klotter",
        "miljo_halsa",
        "bygg",
        "skola",
        "omsorg",
        "kultur_fritid",
    ]
    for number, code in enumerate(departments):
        report = make_routed_report(text=f"Ärende nummer {number} om något helt annat.")
        triage.correct(report, coordinator, "department", code)
    confusions = admin_client.get(stats_url()).context["confusions"]
    assert len(confusions) == 10
    assert {pair.predicted for pair in confusions} == {"Gatubelysning"}


def test_the_review_share_is_per_week_of_receipt(
    admin_client, make_routed_report, coordinator, settings
):
    settings.REVIEW_CONFIDENCE_THRESHOLD = 0.6
    make_routed_report(text=LAMP, confidence=0.9)
    make_routed_report(text=HOLE, confidence=0.3)  # unsure, still waiting for review
    checked = make_routed_report(text=BENCH, confidence=0.5)
    triage.confirm(checked, coordinator)  # unsure, but reviewed since
    make_routed_report(text=BIN, confidence=0.95)
    intake.ingest_report(intake.NewReport(text=BLINK, channel="web"))  # not yet routed
    last_week = make_routed_report(text="Skylten vid rondellen har blåst ner.", confidence=0.4)
    in_week(last_week, 1)
    long_ago = make_routed_report(text="Bänken i parken saknar ryggstöd.", confidence=0.2)
    in_week(long_ago, 13)

    tables = Tables(admin_client.get(stats_url()).content.decode())
    rows = list(tables.rows("Per vecka då ärendet kom in").values())
    assert rows[0] == ["Mottagna", "Låg säkerhet", "Andel", "Behöver granskning nu"]
    assert len(rows) == 1 + 12
    assert rows[-1] == ["5", "2", "40 %", "1"]
    assert rows[-2] == ["1", "1", "100 %", "1"]
    assert rows[1:-2] == [["0", "0", "– inga ärenden", "0"]] * 10

    # A longer period reaches the report received 13 weeks ago.
    tables = Tables(admin_client.get(stats_url(veckor=14)).content.decode())
    rows = list(tables.rows("Per vecka då ärendet kom in").values())
    assert len(rows) == 1 + 14
    assert rows[1] == ["1", "1", "100 %", "1"]


def test_the_period_limits_every_figure(admin_client, labelled):
    page = admin_client.get(stats_url(veckor=1))
    assert page.context["weeks"] == 1
    table = page.context["table"]
    # LAMP's labels, two weeks ago, are outside; this week's remain.
    assert table.totals.counts == [5, 1, 1, 2, 1, 1]
    assert [week.fields["department"].total for week in page.context["agreement"]] == [5]
    assert len(page.context["confusions"]) == 2


@pytest.mark.parametrize("value", ["abc", "0", "-3", "105", "1_0", "12.5", "٣", "9" * 400])
def test_a_bad_period_gives_a_clear_message(admin_client, labelled, value):
    response = admin_client.get(reverse("learning:stats"), {"veckor": value})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ogiltig period" in content
    assert "ange ett helt antal veckor från 1 till 104" in content
    assert response.context["weeks"] == 12
    chart = reverse("learning:stats_chart", args=["granskning"])
    assert admin_client.get(chart, {"veckor": value}).content.startswith(PNG)


def test_the_page_costs_the_same_queries_however_many_labels(
    admin_client, make_routed_report, coordinator
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(stats_url()).status_code == 200
        return len(captured)

    triage.correct(make_routed_report(text=LAMP), coordinator, "department", "vinter")
    few = queries()
    for text in (HOLE, BENCH, BIN, BLINK):
        triage.correct(make_routed_report(text=text), coordinator, "department", "avfall")
        triage.confirm(make_routed_report(text=text + " Igen."), coordinator)
    assert queries() == few


# The export --------------------------------------------------------------------------------


def download(client, tmp_path, **query) -> tuple:
    response = client.get(reverse("learning:export_labels"), query)
    assert response.status_code == 200
    path = tmp_path / "download.jsonl"
    path.write_bytes(b"".join(response.streaming_content))
    return response, path


def test_the_export_downloads_the_labels_in_the_corpus_format(admin_client, labelled, tmp_path):
    response, path = download(admin_client, tmp_path)
    assert response["Content-Type"].startswith("application/x-ndjson")
    today = timezone.localdate().strftime("%Y%m%d")
    assert response["Content-Disposition"] == f'attachment; filename="etiketter-{today}.jsonl"'
    records = {r["text"]: r for r in map(json.loads, path.read_text("utf-8").splitlines())}
    assert set(records) == {LAMP, HOLE, BENCH, BIN, BLINK}
    assert records[HOLE]["department"] == "gata_trafik"
    assert records[BENCH]["department"] == "gata_trafik"
    assert records[BIN]["department"] == "avfall"
    assert records[BLINK]["severity"] == 4
    assert records[LAMP]["id"] == f"case-{labelled['lamp'].case_number}"
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_export_with_the_corpus_is_the_training_data(
    admin_client, labelled, tmp_path, settings, corpus_slice
):
    settings.TRAINING_DATA = corpus_slice
    corpus = data.load_records(corpus_slice)
    response, path = download(admin_client, tmp_path, korpus="1")
    assert "etiketter-med-korpus-" in response["Content-Disposition"]
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert len(records) == len(corpus) + 5
    assert [r["department"] for r in records if r["text"] == HOLE] == ["gata_trafik"]
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_corpus_is_a_message_not_an_error(admin_client, labelled, settings, tmp_path):
    settings.TRAINING_DATA = tmp_path / "saknas.jsonl"
    response = admin_client.get(reverse("learning:export_labels"), {"korpus": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("learning:stats")
    assert "Korpusen kunde inte läsas" in response.content.decode()


def test_the_page_offers_the_export(admin_client):
    page = admin_client.get(stats_url()).content.decode()
    assert f'action="{reverse("learning:export_labels")}"' in page
    assert 'name="korpus"' in page
