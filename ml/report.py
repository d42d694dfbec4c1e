"""An evaluation report for admins and case workers: confusion matrices (PNG) and per-class
precision and recall (markdown), with the taxonomy's Swedish names."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from ml import evaluate, taxonomy

FIELDS = {
    "department": ("Förvaltning", taxonomy.DEPARTMENTS),
    "case_type": ("Ärendetyp", taxonomy.CASE_TYPES),
    "sentiment": ("Ton", taxonomy.SENTIMENTS),
    "severity": ("Allvarlighetsgrad", {str(k): f"{k} {v}" for k, v in taxonomy.SEVERITIES.items()}),
}


def _labels(records: list[dict], predictions: list[dict], field: str) -> tuple[list, list]:
    if field == "severity":
        return [str(r["severity"]) for r in records], [
            str(p["severity"]["label"]) for p in predictions
        ]
    return [r[field] for r in records], [p[field]["label"] for p in predictions]


def confusion_figure(counts, names: list, title: str):
    """A row-normalised confusion matrix (rows: the right answer) with the counts in the cells."""
    counts = np.asarray(counts, dtype=int)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(5.0, 0.55 * len(names) + 2.5)
    # A Figure of its own, not pyplot's global state: web requests draw these in threads.
    figure = Figure(figsize=(size + 1, size))
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("Modellens förslag")
    axes.set_ylabel("Rätt svar")
    axes.set_title(title)
    for i in range(len(names)):
        for j in range(len(names)):
            if counts[i, j]:
                colour = "white" if shares[i, j] > 0.5 else "black"
                axes.text(
                    j, i, str(counts[i, j]), ha="center", va="center", color=colour, fontsize=8
                )
    figure.colorbar(image, ax=axes, fraction=0.046, label="Andel av raden")
    figure.tight_layout()
    return figure


def plot_confusion(gold: list, predicted: list, codes: list, names: list, title: str, path: Path):
    """Row-normalised confusion matrix with counts written in the cells, saved to `path`."""
    figure = confusion_figure(confusion_matrix(gold, predicted, labels=codes), names, title)
    figure.savefig(path, dpi=120)


def write_report(predictor, records: list[dict], out: Path) -> Path:
    """Predict the records and write report.md plus one confusion matrix PNG per output."""
    out.mkdir(parents=True, exist_ok=True)
    predictions = predictor.predict(records)
    summary = evaluate.score(records, predictions)
    info = predictor.info
    lines = [
        f"# Utvärdering av modell {info['version']}",
        "",
        f"Typ: {info['kind']}; basmodell: {info['base_model'] or '–'}; rapporter: {len(records)}.",
        "",
        "| Utfall | Mått | Värde |",
        "|---|---|---|",
    ]
    for field, measures in summary.items():
        if isinstance(measures, dict):
            lines += [f"| {field} | {name} | {value:.3f} |" for name, value in measures.items()]
    for field, (title, names) in FIELDS.items():
        gold, predicted = _labels(records, predictions, field)
        codes = list(names)
        image = f"confusion_{field}.png"
        plot_confusion(gold, predicted, codes, list(names.values()), title, out / image)
        precision, recall, f1, support = precision_recall_fscore_support(
            gold, predicted, labels=codes, zero_division=0
        )
        lines += [
            "",
            f"## {title}",
            "",
            f"![Förväxlingsmatris: {title}]({image})",
            "",
            "| Klass | Precision | Täckning (recall) | F1 | Antal |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {names[c]} | {p:.2f} | {r:.2f} | {f:.2f} | {n} |"
            for c, p, r, f, n in zip(codes, precision, recall, f1, support, strict=True)
        ]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
