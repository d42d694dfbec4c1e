"""The baseline end to end: train writes a model directory; predict and evaluate read it."""

from __future__ import annotations

import json

import pytest

from ml import data, evaluate, predictor, taxonomy
from ml.modeldir import ModelDirError
from ml.train import TrainingError, train
from ml.validate import occurs_as_words
from tests.ml.test_validate import run_cli

PREDICTION_KEYS = {*taxonomy.SINGLE_LABEL_FIELDS, "severity", "tags", "keywords", "model"}
CONTRACT_KEYS = {
    "n": None,
    "department": {"macro_f1", "accuracy"},
    "case_type": {"macro_f1", "accuracy"},
    "sentiment": {"macro_f1", "accuracy"},
    "severity": {"mae", "spearman", "recall_at_4"},
    "tags": {"micro_f1"},
    "keywords": {"f1"},
    "throughput": {"reports_per_s"},
}


@pytest.fixture(scope="module")
def small_corpus(corpus_slice):
    """A slice of the real corpus (60 reports per department, fixed seed)."""
    return corpus_slice


@pytest.fixture(scope="module")
def model_dir(baseline_dir):
    return baseline_dir


def test_training_writes_a_self_describing_directory(model_dir, small_corpus):
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["kind"] == "baseline"
    assert meta["version"].startswith("baseline-")
    assert meta["data"]["sha256"] == data.data_hash(small_corpus)
    assert meta["data"]["n_train"] + meta["data"]["n_test"] == 14 * 60
    assert meta["labels"]["department"] == list(taxonomy.DEPARTMENTS)
    assert "scikit-learn" in meta["libraries"]
    assert set(meta["metrics"]) == set(CONTRACT_KEYS)
    # Learned, not guessed: 14 departments make chance about 0.07.
    assert meta["metrics"]["department"]["accuracy"] > 0.6
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".")]


def test_predictions_have_the_contract_shape(model_dir):
    text = "Gatlampan utanför Storgatan 14 har varit släckt i två veckor, det är becksvart."
    [prediction] = predictor.load(model_dir).predict([{"text": text, "subject": "Trasig lampa"}])
    assert set(prediction) == PREDICTION_KEYS
    department = prediction["department"]
    assert department["label"] == "belysning"
    assert department["top"][0] == [department["label"], department["confidence"]]
    assert [p for _, p in department["top"]] == sorted(
        (p for _, p in department["top"]), reverse=True
    )
    assert prediction["case_type"]["label"] in taxonomy.CASE_TYPES
    assert prediction["sentiment"]["label"] in taxonomy.SENTIMENTS
    assert 0 <= prediction["sentiment"]["confidence"] <= 1
    severity = prediction["severity"]
    assert severity["label"] == round(severity["score"])
    assert taxonomy.SEVERITY_MIN <= severity["score"] <= taxonomy.SEVERITY_MAX
    assert all(tag in taxonomy.TAGS and 0 <= p <= 1 for tag, p in prediction["tags"])
    assert prediction["keywords"]
    assert all(occurs_as_words(k, text) for k in prediction["keywords"])
    assert prediction["model"]["kind"] == "baseline"
    assert prediction["model"]["base_model"] is None


def test_severe_reports_score_higher_than_mild_ones(model_dir):
    loaded = predictor.load(model_dir)
    mild, acute = loaded.predict(
        [
            {"text": "Tack för den fina nya parkbänken vid dammen!"},
            {
                "text": "Stolpen har gått av och det ligger strömförande kablar blottade på "
                "gångvägen där barnen går till skolan, kom direkt!"
            },
        ]
    )
    assert acute["severity"]["score"] > mild["severity"]["score"]


def test_evaluate_prints_exactly_the_contract_keys(model_dir, small_corpus):
    result = run_cli("evaluate", "--model", str(model_dir), "--data", str(small_corpus), "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert set(figures) == set(CONTRACT_KEYS)
    for key, measures in CONTRACT_KEYS.items():
        if measures:
            assert set(figures[key]) == measures
    assert figures["n"] == 14 * 60


def test_predict_round_trips_and_reports_bad_lines_without_stopping(model_dir):
    lines = [
        json.dumps({"text": "Soptunnan blev inte tömd i tisdags", "subject": None}),
        "this is not json",
        json.dumps({"text": ""}),
        json.dumps({"text": "x" * 100_000}),
        json.dumps({"text": "The bus stop shelter has been smashed, glass everywhere."}),
        json.dumps({"subject": "ingen text"}),
    ]
    result = run_cli("predict", "--model", str(model_dir), stdin="\n".join(lines) + "\n")
    assert result.returncode == 1
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outputs) == 6
    assert outputs[0]["department"]["label"] == "avfall"
    assert outputs[1] == {"error": "line 2: invalid JSON: Expecting value (column 1)"}
    assert outputs[2]["error"] == 'line 3: "text" must be a non-empty string'
    assert outputs[3]["department"]["label"] in taxonomy.DEPARTMENTS  # 100 kB: truncated
    assert outputs[4]["department"]["label"] in taxonomy.DEPARTMENTS  # English: still answered
    assert "error" in outputs[5]
    assert result.stderr.splitlines()[:3] == [
        "line 2: invalid JSON: Expecting value (column 1)",
        'line 3: "text" must be a non-empty string',
        'line 6: "text" must be a non-empty string',
    ]


def test_a_missing_or_foreign_directory_is_a_clear_error(tmp_path, model_dir):
    with pytest.raises(ModelDirError, match="no such model directory"):
        predictor.load(tmp_path / "missing")
    with pytest.raises(ModelDirError, match=r"meta.json is missing"):
        predictor.load(tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(ModelDirError, match="corrupt"):
        predictor.load(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"kind": "spam-filter"}))
    with pytest.raises(ModelDirError, match="unknown kind"):
        predictor.load(tmp_path)


def test_corrupt_weights_are_a_clear_error(tmp_path, model_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text((model_dir / "meta.json").read_text())
    (broken / "baseline.joblib").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelDirError, match="corrupt model weights"):
        predictor.load(broken)
    result = run_cli("predict", "--model", str(broken), stdin="")
    assert result.returncode == 1
    assert result.stderr.startswith("cannot load model:")
    assert "Traceback" not in result.stderr
    (broken / "baseline.joblib").unlink()
    with pytest.raises(ModelDirError, match="incomplete model directory"):
        predictor.load(broken)


def test_training_refuses_a_non_empty_output_and_bad_data(tmp_path, small_corpus):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(TrainingError, match="not an empty directory"):
        train("baseline", small_corpus, tmp_path / "taken")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\nnot json\n')
    with pytest.raises(TrainingError, match="invalid JSON"):
        train("baseline", bad, tmp_path / "out")


def test_recall_at_k_counts_severe_reports_in_the_top_k():
    gold = [5, 1, 4, 2, 1]
    assert evaluate.recall_at_k_severe(gold, [4.9, 1.0, 4.1, 2.0, 1.2]) == 1.0
    assert evaluate.recall_at_k_severe(gold, [4.9, 4.5, 1.0, 2.0, 1.2]) == 0.5
    assert evaluate.recall_at_k_severe([1, 2], [1.0, 2.0]) == 0.0


def test_report_writes_confusion_matrices_and_per_class_tables(model_dir, small_corpus, tmp_path):
    out = tmp_path / "report"
    result = run_cli(
        "report", "--model", str(model_dir), "--data", str(small_corpus), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| Gatubelysning |" in markdown
    assert "![Förväxlingsmatris: Förvaltning](confusion_department.png)" in markdown
    for field in ("department", "case_type", "sentiment", "severity"):
        assert (out / f"confusion_{field}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_curve_trains_at_each_size_and_writes_table_and_plot(small_corpus, tmp_path):
    from ml import learning_curve

    records = data.load_records(small_corpus)
    sample = learning_curve.stratified_sample(records, 140, seed=1)
    assert {r["department"] for r in sample} == set(taxonomy.DEPARTMENTS)
    assert 130 <= len(sample) <= 150
    rows = learning_curve.run(small_corpus, [100, None], ["baseline"])
    assert [r["n_train"] for r in rows][1] > rows[0]["n_train"]
    learning_curve.write(rows, tmp_path)
    table = (tmp_path / "learning_curve.md").read_text()
    assert table.count("| baseline |") == 2
    assert (tmp_path / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
