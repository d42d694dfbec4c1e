"""The multi-task transformer: keyword spans, training, the model directory and predict.

Most tests use a tiny BERT built from a config (seconds); one fine-tunes the real offline
MiniLM for a few steps and round-trips the directory through `python -m ml predict`.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml import predictor, taxonomy
from ml.base_models import OFFLINE_MINILM
from ml.train import TrainingError, train
from ml.transformer import BEGIN, INSIDE, OUTSIDE, bio_labels, decode_keywords, keyword_spans
from ml.validate import occurs_as_words
from tests.conftest import write_corpus_slice
from tests.ml.test_baseline import CONTRACT_KEYS, PREDICTION_KEYS
from tests.ml.test_validate import run_cli

FAST = {"epochs": 2, "max_steps": 6, "batch_size": 8, "max_length": 64}


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    return write_corpus_slice(tmp_path_factory.mktemp("data") / "tiny.jsonl", 8, seed=None)


@pytest.fixture(scope="module")
def tiny_model(tiny_base, tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "tiny"
    train("transformer", tiny_corpus, out, ["/nonexistent/model", str(tiny_base)], FAST)
    return out


def test_keyword_spans_are_whole_word_occurrences_shifted_into_the_model_input():
    text = "Lampan vid Storgatan 14 är släckt. Lampan igen."
    assert keyword_spans(text, ["Lampan", "Storgatan 14"], offset=10) == [
        (10, 16),
        (45, 51),
        (21, 33),
    ]
    assert keyword_spans("Gatlampan", ["lampan"], offset=0) == []


def test_bio_labels_mark_the_first_token_of_a_span_and_ignore_special_tokens():
    offsets = [(0, 0), (0, 3), (3, 6), (7, 12), (13, 15), (0, 0)]
    assert bio_labels(offsets, [(0, 6), (13, 15)]) == [-100, BEGIN, INSIDE, OUTSIDE, BEGIN, -100]


def test_decoded_keywords_are_widened_to_whole_words_of_the_text():
    text = "Ämne\nGatlampan är släckt"
    offsets = [(0, 0), (0, 4), (5, 8), (8, 14), (15, 17), (18, 24), (0, 0)]
    probabilities = np.array(
        [
            [1, 0, 0],
            [0.1, 0.9, 0],
            [0.2, 0.7, 0.1],
            [0.1, 0.1, 0.8],
            [0.9, 0.05, 0.05],
            [0.3, 0.6, 0.1],
            [1, 0, 0],
        ]
    )
    keywords = decode_keywords(text, offsets, probabilities, text_start=5)
    assert keywords == ["Gatlampan", "släckt"]  # the subject's span is not the text's


def test_training_records_the_base_model_and_why_others_were_skipped(tiny_model, tiny_base):
    meta = json.loads((tiny_model / "meta.json").read_text())
    assert meta["kind"] == "transformer"
    assert meta["base_model"] == str(tiny_base)
    assert meta["base"]["skipped"][0]["name"] == "/nonexistent/model"
    assert meta["base"]["skipped"][0]["reason"]
    assert meta["config"]["max_steps"] == 6
    assert meta["history"][-1]["step"] == 6
    assert set(meta["metrics"]) == set(CONTRACT_KEYS)
    assert len(meta["tag_thresholds"]) == len(taxonomy.TAGS)
    assert (tiny_model / "model.safetensors").is_file()


def test_predictions_have_the_contract_shape(tiny_model):
    text = "Gatlampan utanför Storgatan 14 har varit släckt i två veckor."
    [prediction] = predictor.load(tiny_model).predict([{"text": text, "subject": None}])
    assert set(prediction) == PREDICTION_KEYS
    assert prediction["department"]["label"] in taxonomy.DEPARTMENTS
    assert len(prediction["department"]["top"]) == 3
    assert prediction["severity"]["label"] == round(prediction["severity"]["score"])
    assert all(occurs_as_words(k, text) for k in prediction["keywords"])
    assert prediction["model"]["kind"] == "transformer"


def test_a_run_is_reproducible(tiny_base, tiny_corpus, tmp_path, tiny_model):
    again = tmp_path / "again"
    train("transformer", tiny_corpus, again, [str(tiny_base)], FAST)
    reports = [{"text": "Soptunnan blev inte tömd i tisdags"}, {"text": "Tack för hjälpen!"}]
    first = predictor.load(tiny_model).predict(reports)
    second = predictor.load(again).predict(reports)
    for a, b in zip(first, second, strict=True):
        assert a["department"] == b["department"]
        assert a["severity"] == b["severity"]


def test_no_loadable_base_model_is_a_clear_error(tiny_corpus, tmp_path):
    with pytest.raises(TrainingError, match="no candidate base model could be loaded"):
        train("transformer", tiny_corpus, tmp_path / "out", ["/nonexistent/a", "/nonexistent/b"])


def test_bad_options_are_a_clear_error(tiny_corpus, tiny_base, tmp_path):
    with pytest.raises(TrainingError, match="bad transformer option"):
        train("transformer", tiny_corpus, tmp_path / "out", [str(tiny_base)], {"epochs": 0})


@pytest.mark.slow
def test_the_offline_minilm_fine_tunes_and_round_trips_through_predict(tiny_corpus, tmp_path):
    out = tmp_path / "minilm"
    meta = train("transformer", tiny_corpus, out, [OFFLINE_MINILM], {**FAST, "max_steps": 4})
    assert meta["base_model"] == OFFLINE_MINILM
    lines = [
        json.dumps({"text": "Vattnet är brunt och luktar illa i hela huset", "subject": "Vatten"}),
        "{broken",
    ]
    result = run_cli("predict", "--model", str(out), stdin="\n".join(lines) + "\n")
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert outputs[0]["model"]["base_model"] == OFFLINE_MINILM
    assert outputs[0]["department"]["label"] in taxonomy.DEPARTMENTS
    assert outputs[1]["error"].startswith("line 2: invalid JSON")
    assert result.returncode == 1


def test_int8_quantised_loading_predicts_in_the_same_shape(tiny_model):
    reports = [{"text": "Soptunnan blev inte tömd i tisdags"}, {"text": "Tack för hjälpen!"}]
    exact = predictor.load(tiny_model).predict(reports)
    quantised_predictor = predictor.load(tiny_model, quantize=True)
    assert "DynamicQuantizedLinear" in repr(quantised_predictor.model.net)
    quantised = quantised_predictor.predict(reports)
    for a, b in zip(exact, quantised, strict=True):
        assert set(a) == set(b)
        assert abs(a["severity"]["score"] - b["severity"]["score"]) < 0.5


def test_inference_batches_group_similar_lengths_and_keep_the_request_order(tiny_model):
    from ml.transformer import PADDING_SLACK, Encoded

    model = predictor.load(tiny_model).model
    reports = [{"text": "Hål i vägen. " * n} for n in (1, 30, 2, 12, 1, 40, 3)]
    encoded = Encoded(model.tokenizer, reports, model.config, labelled=False)
    batches = encoded.batches(32, shuffle=False)
    assert sorted(i for batch in batches for i in batch) == list(range(len(reports)))
    assert len(batches) > 1
    for batch in batches:
        lengths = [len(encoded.input_ids[i]) for i in batch]
        assert max(lengths) <= PADDING_SLACK * min(lengths) + 8
    together = model.predict(reports)
    alone = [model.predict([r])[0] for r in reports]
    for a, b in zip(together, alone, strict=True):
        assert a["department"]["label"] == b["department"]["label"]
        assert a["severity"]["score"] == pytest.approx(b["severity"]["score"], abs=1e-3)
