"""Agreement between two labellings of the same reports (e.g. the corpus and a blind re-label)."""

from __future__ import annotations

import statistics

from sklearn.metrics import cohen_kappa_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from ml import taxonomy


def keyword_f1(predicted: list[str], gold: list[str]) -> float:
    """Case-insensitive set F1 of two keyword lists (1.0 when both are empty)."""
    p = {k.casefold().strip() for k in predicted}
    g = {k.casefold().strip() for k in gold}
    if not p and not g:
        return 1.0
    overlap = len(p & g)
    if not overlap:
        return 0.0
    precision, recall = overlap / len(p), overlap / len(g)
    return 2 * precision * recall / (precision + recall)


def compare(reference: list[dict], other: list[dict]) -> dict:
    """Per-field agreement of ``other`` with ``reference`` over the ids they share."""
    by_id = {r["id"]: r for r in other}
    pairs = [(r, by_id[r["id"]]) for r in reference if r["id"] in by_id]
    if not pairs:
        raise ValueError("the two files share no report ids")
    result: dict = {"n": len(pairs)}
    for field, codes in taxonomy.SINGLE_LABEL_FIELDS.items():
        a = [ref[field] for ref, _ in pairs]
        b = [oth[field] for _, oth in pairs]
        result[field] = {
            "accuracy": sum(x == y for x, y in zip(a, b, strict=True)) / len(a),
            "kappa": _kappa(a, b, list(codes)),
        }
    a = [ref["severity"] for ref, _ in pairs]
    b = [oth["severity"] for _, oth in pairs]
    result["severity"] = {
        "accuracy": sum(x == y for x, y in zip(a, b, strict=True)) / len(a),
        "within_one": sum(abs(x - y) <= 1 for x, y in zip(a, b, strict=True)) / len(a),
        "mae": statistics.mean(abs(x - y) for x, y in zip(a, b, strict=True)),
        "weighted_kappa": _kappa(a, b, list(taxonomy.SEVERITIES), weights="quadratic"),
    }
    binarizer = MultiLabelBinarizer(classes=list(taxonomy.TAGS))
    gold_tags = binarizer.fit_transform([ref["tags"] for ref, _ in pairs])
    other_tags = binarizer.transform([oth["tags"] for _, oth in pairs])
    result["tags"] = {
        "micro_f1": float(f1_score(gold_tags, other_tags, average="micro", zero_division=0)),
        "exact_set": sum(set(ref["tags"]) == set(oth["tags"]) for ref, oth in pairs) / len(pairs),
    }
    result["keywords"] = {
        "f1": statistics.mean(keyword_f1(oth["keywords"], ref["keywords"]) for ref, oth in pairs)
    }
    result["department_confusions"] = _confusions(pairs, "department")
    return result


def _kappa(a: list, b: list, labels: list, weights: str | None = None) -> float | None:
    """Cohen's kappa, or None where it is undefined (both labellings use a single value)."""
    if len(set(a) | set(b)) < 2:
        return None
    return float(cohen_kappa_score(a, b, labels=labels, weights=weights))


def _confusions(pairs: list[tuple[dict, dict]], field: str) -> list[tuple[str, str, int]]:
    counts: dict[tuple[str, str], int] = {}
    for ref, oth in pairs:
        if ref[field] != oth[field]:
            key = (ref[field], oth[field])
            counts[key] = counts.get(key, 0) + 1
    return sorted(((a, b, n) for (a, b), n in counts.items()), key=lambda t: (-t[2], t[0], t[1]))


def format_table(result: dict) -> str:
    """A markdown table of the figures in ``compare``'s result."""
    lines = [f"Reports compared: {result['n']}", "", "| field | measure | value |", "|---|---|---|"]
    for field, measures in result.items():
        if isinstance(measures, dict):
            lines += [
                f"| {field} | {name} | {'undefined' if value is None else f'{value:.3f}'} |"
                for name, value in measures.items()
            ]
    if result["department_confusions"]:
        lines += ["", "Department disagreements (reference -> other: count):"]
        lines += [f"- {a} -> {b}: {n}" for a, b, n in result["department_confusions"]]
    return "\n".join(lines)
