"""Explanations: the words that drove the department, from the baseline's weights or occlusion."""

from __future__ import annotations

import json

import pytest

from ml import explain, predictor, taxonomy
from ml.data import model_input
from ml.validate import occurs_as_words
from tests.ml.test_transformer import tiny_corpus, tiny_model  # noqa: F401
from tests.ml.test_validate import run_cli

LAMP = {
    "subject": "Trasig gatlampa",
    "text": "Gatlampan utanför Storgatan 14 är släckt sedan en vecka, det är mörkt på kvällen.",
}


@pytest.fixture(scope="module")
def baseline(baseline_dir):
    return predictor.load(baseline_dir)


def assert_well_formed(result: dict, record: dict) -> None:
    assert result["department"] in taxonomy.DEPARTMENTS
    assert 0 < result["confidence"] <= 1
    weights = [weight for _, weight in result["words"]]
    assert weights == sorted(weights, reverse=True)
    assert all(weight > 0 for weight in weights)
    assert all(occurs_as_words(word, model_input(record)) for word, _ in result["words"])
    assert len({word.lower() for word, _ in result["words"]}) == len(result["words"])


def test_the_baseline_is_explained_by_its_weights_with_the_lamp_words_first(baseline):
    result = baseline.explain(LAMP)
    assert result["department"] == "belysning"
    assert result["method"] == explain.LINEAR_WEIGHTS
    assert_well_formed(result, LAMP)
    top = [word.lower() for word, _ in result["words"][:3]]
    assert any("lamp" in word for word in top)
    assert result["model"]["kind"] == "baseline"


def test_the_baseline_word_weights_add_up_to_its_decision_score(baseline):
    # Without punctuation every word and character n-gram lies on a word, so the words
    # carry exactly the linear part of the department's decision function.
    record = {"subject": None, "text": "gatlampan är släckt sedan en vecka i vårt kvarter"}
    department, _, weights = explain._linear_weights(baseline.model, record)
    features = baseline.model.features.transform([model_input(record)])
    coefficients = explain._class_coefficients(baseline.model.classifiers["department"], department)
    assert sum(weights.values()) == pytest.approx(float((features @ coefficients)[0]))
    assert set(weights) == set(record["text"].split())


def test_the_explained_department_is_the_predicted_one(baseline):
    record = {"subject": None, "text": "Soptunnan har inte tömts på två veckor och det luktar."}
    [prediction] = baseline.predict([record])
    result = baseline.explain(record, top_k=3)
    assert result["department"] == prediction["department"]["label"]
    assert result["confidence"] == prediction["department"]["confidence"]
    assert len(result["words"]) <= 3
    assert_well_formed(result, record)


def test_character_ngrams_credit_misspelt_words_as_written(baseline):
    record = {"subject": None, "text": "gatlampn ar slackt, helt morkt pa Storgatan!!"}
    result = baseline.explain(record)
    assert_well_formed(result, record)
    assert "gatlampn" in [word for word, _ in result["words"]]


def test_occlusion_explains_any_model_and_agrees_on_the_department(baseline):
    result = explain.explain(baseline, LAMP, method=explain.OCCLUSION)
    assert result["method"] == explain.OCCLUSION
    assert result["department"] == "belysning"
    assert_well_formed(result, LAMP)
    assert any("lamp" in word.lower() for word, _ in result["words"][:3])


def test_an_unknown_method_is_refused(baseline):
    with pytest.raises(ValueError, match="unknown"):
        explain.explain(baseline, LAMP, method="astrology")


def test_the_transformer_is_explained_by_occlusion(tiny_model):  # noqa: F811
    loaded = predictor.load(tiny_model)
    result = loaded.explain(LAMP)
    [prediction] = loaded.predict([LAMP])
    assert set(result) == {"department", "confidence", "method", "words", "model"}
    assert result["method"] == explain.OCCLUSION
    assert result["department"] == prediction["department"]["label"]
    assert_well_formed(result, LAMP)
    assert result["model"]["kind"] == "transformer"


def test_the_cli_writes_one_explanation_per_line(baseline_dir):
    lines = [json.dumps(LAMP, ensure_ascii=False), "not json", json.dumps({"text": "Hej"})]
    result = run_cli("explain", "--model", str(baseline_dir), stdin="\n".join(lines) + "\n")
    assert result.returncode == 1  # one bad line
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 3
    assert answers[0]["department"] == "belysning"
    assert_well_formed(answers[0], LAMP)
    assert answers[1]["error"].startswith("line 2:")
    assert "line 2" in result.stderr
    assert answers[2]["department"] in taxonomy.DEPARTMENTS
