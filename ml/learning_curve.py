"""Learning curve: baseline vs transformer on the fixed test split at growing training sizes.

The transfer-learning claim we build on is that a pretrained model needs far fewer labels
than a model from scratch; this measures whether ours does.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ml import data, evaluate
from ml.train import build_model

CURVES = {
    "department macro-F1": lambda m: m["department"]["macro_f1"],
    "case type macro-F1": lambda m: m["case_type"]["macro_f1"],
    "sentiment macro-F1": lambda m: m["sentiment"]["macro_f1"],
    "severity Spearman": lambda m: m["severity"]["spearman"],
    "tags micro-F1": lambda m: m["tags"]["micro_f1"],
    "keywords F1": lambda m: m["keywords"]["f1"],
}


def stratified_sample(records: list[dict], size: int, seed: int) -> list[dict]:
    """About `size` records with the departments in their original proportions."""
    if size >= len(records):
        return list(records)
    rng = random.Random(seed)
    by_department: dict[str, list[dict]] = {}
    for record in records:
        by_department.setdefault(record["department"], []).append(record)
    chosen = []
    for rows in by_department.values():
        take = max(2, round(size * len(rows) / len(records)))
        chosen.extend(rng.sample(rows, min(take, len(rows))))
    return chosen


def run(
    data_path: str | Path,
    sizes: list[int | None],
    kinds: list[str],
    base_models: list[str] | None = None,
    options: dict | None = None,
    seed: int = 13,
    test_ids: set[str] | None = None,
) -> list[dict]:
    """Train each kind at each size (None: all) and score it on the fixed test split (or on
    the records named by ``test_ids``)."""
    train_records, test_records = data.split(data.load_records(data_path), test_ids=test_ids)
    rows = []
    for size in sizes:
        sample = stratified_sample(train_records, size or len(train_records), seed)
        for kind in kinds:
            model, base_model, _ = build_model(kind, base_models, dict(options or {}))
            model.fit(sample)
            metrics = evaluate.score(test_records, model.predict(test_records))
            rows.append(
                {"kind": kind, "base_model": base_model, "n_train": len(sample), "metrics": metrics}
            )
            print(
                json.dumps(
                    {
                        "kind": kind,
                        "n_train": len(sample),
                        "department_macro_f1": metrics["department"]["macro_f1"],
                    }
                ),
                flush=True,
            )
    return rows


def write(rows: list[dict], out: Path) -> None:
    """learning_curve.md (a table), learning_curve.png (one panel per output) and .json."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "learning_curve.json").write_text(json.dumps(rows, indent=1))
    names = list(CURVES)
    lines = [
        "| kind | training reports | " + " | ".join(names) + " |",
        "|---" * (len(names) + 2) + "|",
    ]
    for row in rows:
        values = " | ".join(f"{CURVES[n](row['metrics']):.3f}" for n in names)
        lines.append(f"| {row['kind']} | {row['n_train']} | {values} |")
    (out / "learning_curve.md").write_text("\n".join(lines) + "\n")
    figure, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True)
    for axis, name in zip(axes.flat, names, strict=True):
        for kind in dict.fromkeys(r["kind"] for r in rows):
            points = [(r["n_train"], CURVES[name](r["metrics"])) for r in rows if r["kind"] == kind]
            axis.plot(*zip(*points, strict=True), marker="o", label=kind)
        axis.set_xscale("log")
        axis.set_title(name)
        axis.grid(alpha=0.3)
    axes.flat[0].legend()
    for axis in axes[1]:
        axis.set_xlabel("training reports (log scale)")
    figure.tight_layout()
    figure.savefig(out / "learning_curve.png", dpi=110)
    plt.close(figure)
