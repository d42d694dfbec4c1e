"""Why a model routes a report to its department: the report's words, weighted.

An explanation names the predicted department and the words of the report (as written,
so that a page can highlight them) that pushed the model towards it, strongest first:

    {"department": "belysning", "confidence": 0.93, "method": "linear-weights",
     "words": [["gatlampan", 0.42], ["släckt", 0.21]]}

The baseline is explained exactly and cheaply from its linear weights: each TF-IDF
feature contributes coefficient x value to the department's decision score, and that
contribution is handed to the words the feature was read from. Any model (the
transformer by default) can be explained by occlusion: drop one word at a time, run all
the variants in one batch, and weigh each word by how much the department's probability
falls without it.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from ml.data import model_input

LINEAR_WEIGHTS = "linear-weights"
OCCLUSION = "occlusion"
# The words that the explanation is written in: the baseline's word tokens.
_WORD = re.compile(r"(?u)\b\w+\b")
_NON_SPACE = re.compile(r"\S+")
# Occlusion runs one forward pass per distinct word; a report has rarely more words than
# this inside the transformer's token window.
MAX_OCCLUDED_WORDS = 256


def explain(model_or_predictor, record: dict, top_k: int = 8, method: str | None = None) -> dict:
    """Explain the department predicted for one record ("text", optional "subject").

    Takes a loaded `ml.predictor.Predictor` or a bare model. `method` defaults to the
    linear weights for the baseline and to occlusion for every other kind.
    """
    model = getattr(model_or_predictor, "model", model_or_predictor)
    kind = getattr(model, "kind", None)
    if method is None:
        method = LINEAR_WEIGHTS if kind == "baseline" else OCCLUSION
    if method == LINEAR_WEIGHTS:
        if kind != "baseline":
            raise ValueError(f"linear weights explain only the baseline, not {kind!r}")
        department, confidence, weights = _linear_weights(model, record)
    elif method == OCCLUSION:
        department, confidence, weights = _occlusion(model, record)
    else:
        raise ValueError(f"unknown explanation method {method!r}")
    return {
        "department": department,
        "confidence": round(confidence, 4),
        "method": method,
        "words": _strongest(weights, top_k),
    }


class _Words:
    """The words of one model input with their character spans, grouped case-insensitively."""

    def __init__(self, text: str):
        self.text = text
        self.spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        self.keys = [text[s:e].lower() for s, e in self.spans]
        # The form shown for a word is its first occurrence, exactly as the resident wrote it.
        self.shown: dict[str, str] = {}
        # The index of the word each character belongs to (-1: space or punctuation).
        self.owner = [-1] * len(text)
        for index, (key, (start, end)) in enumerate(zip(self.keys, self.spans, strict=True)):
            self.shown.setdefault(key, text[start:end])
            self.owner[start:end] = [index] * (end - start)

    def covering(self, start: int, end: int) -> list[str]:
        """Keys of the words that overlap the character range [start, end)."""
        indices = dict.fromkeys(i for i in self.owner[start:end] if i >= 0)
        return [self.keys[i] for i in indices]


def _strongest(weights: dict[str, float], top_k: int) -> list[list]:
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [[word, round(float(weight), 4)] for word, weight in ranked[:top_k] if weight > 0]


# Linear weights (the baseline) -------------------------------------------------------------


def _class_coefficients(calibrated, label) -> np.ndarray:
    """The mean coefficient vector for `label` over the calibrated cross-validation fits."""
    rows = []
    for fitted in calibrated.calibrated_classifiers_:
        svc = fitted.estimator
        classes = list(svc.classes_)
        coef = svc.coef_
        if coef.shape[0] == 1:  # binary: one row that scores classes_[1]
            rows.append(coef[0] if label == classes[1] else -coef[0])
        elif label in classes:
            rows.append(coef[classes.index(label)])
    return np.mean(rows, axis=0)


def _linear_weights(model, record: dict) -> tuple[str, float, dict[str, float]]:
    from ml.baseline import MAX_CHARS

    text = model_input(record)[:MAX_CHARS]
    classifier = model.classifiers["department"]
    probabilities = classifier.predict_proba(model.features.transform([text]))[0]
    best = int(np.argmax(probabilities))
    label = classifier.classes_[best]
    coefficients = _class_coefficients(classifier, label)
    words = _Words(text)
    weights: dict[str, float] = defaultdict(float)
    offset = 0
    for _, vectorizer in model.features.transformer_list:
        size = len(vectorizer.vocabulary_)
        values = vectorizer.transform([text])
        contribution = {
            int(j): float(coefficients[offset + j] * v)
            for j, v in zip(values.indices, values.data, strict=True)
        }
        if vectorizer.analyzer == "char_wb":
            occurrences = _char_wb_occurrences(words, vectorizer)
        else:
            occurrences = _word_ngram_occurrences(words, vectorizer)
        for j, amount in contribution.items():
            places = occurrences.get(j)
            if not places:
                continue
            share = amount / len(places)
            for keys in places:
                for key in keys:
                    weights[key] += share / len(keys)
        offset += size
    return str(label), float(probabilities[best]), _shown(words, weights)


def _word_ngram_occurrences(words: _Words, vectorizer) -> dict[int, list[list[str]]]:
    """Feature index -> the words of each occurrence of that word n-gram."""
    low, high = vectorizer.ngram_range
    vocabulary = vectorizer.vocabulary_
    found: dict[int, list[list[str]]] = defaultdict(list)
    keys = words.keys
    for n in range(low, high + 1):
        for i in range(len(keys) - n + 1):
            index = vocabulary.get(" ".join(keys[i : i + n]))
            if index is not None:
                found[index].append(keys[i : i + n])
    return found


def _char_wb_occurrences(words: _Words, vectorizer) -> dict[int, list[list[str]]]:
    """Feature index -> the words covered by each occurrence of that character n-gram.

    Mirrors scikit-learn's char_wb analyzer: each whitespace-separated token, lower-cased
    and padded with one space on each side, yields its n-grams (a padded token no longer
    than n yields itself once, and no longer n-grams). An n-gram of only padding and
    punctuation covers no word.
    """
    low, high = vectorizer.ngram_range
    vocabulary = vectorizer.vocabulary_
    found: dict[int, list[list[str]]] = defaultdict(list)
    for token in _NON_SPACE.finditer(words.text):
        lowered = token.group().lower()
        padded = f" {lowered} "
        same_length = len(lowered) == len(token.group())
        for n in range(low, high + 1):
            for start in range(max(1, len(padded) - n + 1)):
                index = vocabulary.get(padded[start : start + n])
                if index is None:
                    continue
                if same_length:
                    # Padded position p is token position p - 1.
                    first = token.start() + max(start - 1, 0)
                    last = token.start() + min(start - 1 + n, len(lowered))
                else:  # lower-casing changed the length: give the n-gram to the whole token
                    first, last = token.start(), token.end()
                keys = words.covering(first, last)
                if keys:
                    found[index].append(keys)
            if len(padded) <= n:  # as scikit-learn: a short token counts once
                break
    return found


def _shown(words: _Words, weights: dict[str, float]) -> dict[str, float]:
    return {words.shown[key]: weight for key, weight in weights.items()}


# Occlusion (any model) -----------------------------------------------------------------


def _department_probabilities(model, texts: list[str]) -> tuple[list[str], np.ndarray]:
    """(department codes, probabilities per text) of a model for ready model inputs."""
    records = [{"text": text, "subject": None} for text in texts]  # model_input(r) == text
    if model.kind == "baseline":
        classifier = model.classifiers["department"]
        matrix = model.features.transform(texts)
        return [str(c) for c in classifier.classes_], classifier.predict_proba(matrix)
    from ml.transformer import Encoded

    encoded = Encoded(model.tokenizer, records, model.config, labelled=False)
    outputs = model._forward_all(encoded, batch_size=model.config.batch_size * 2)
    return list(model.config.label_maps["department"]), outputs["department"]


def _read_extent(model, text: str) -> int:
    """How many characters of the input the model reads (the transformer truncates)."""
    if model.kind == "baseline":
        from ml.baseline import MAX_CHARS

        return MAX_CHARS
    encoding = model.tokenizer(
        text, truncation=True, max_length=model.config.max_length, return_offsets_mapping=True
    )
    return max((end for _, end in encoding["offset_mapping"]), default=0)


def _occlusion(model, record: dict) -> tuple[str, float, dict[str, float]]:
    text = model_input(record)
    words = _Words(text)
    extent = _read_extent(model, text)
    spans_by_key: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for key, (start, end) in zip(words.keys, words.spans, strict=True):
        if start < extent:
            spans_by_key[key].append((start, end))
    keys = list(spans_by_key)[:MAX_OCCLUDED_WORDS]
    variants = [_without(text, spans_by_key[key]) for key in keys]
    classes, probabilities = _department_probabilities(model, [text, *variants])
    best = int(np.argmax(probabilities[0]))
    base = float(probabilities[0, best])
    weights = {key: base - float(probabilities[i + 1, best]) for i, key in enumerate(keys)}
    return classes[best], base, _shown(words, weights)


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with every listed span (one word's occurrences) removed."""
    parts, previous = [], 0
    for start, end in spans:
        parts.append(text[previous:start])
        previous = end
    parts.append(text[previous:])
    return "".join(parts)


__all__ = ["LINEAR_WEIGHTS", "OCCLUSION", "explain"]
