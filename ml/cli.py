"""The ``python -m ml`` command line."""

from __future__ import annotations

import argparse
import json
import sys

from ml import agreement, data, validate


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)
