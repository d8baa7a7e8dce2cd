"""`python -m classifiers <command>`: train, evaluate, predict, promote, list, label.

    train    [--data FILE ...] [--no-corpus] [--out DIR]   new registry version from the seed corpus,
                                                            extra labelled files and the store's labels
    evaluate --data FILE.jsonl [--model DIR]                metrics per language and category, the misclassified
                                                            items with their explanations, PR curve and confusion
                                                            PNGs (under var/evaluate, or --plots DIR), JSON with --json
    compare  [--real var/real/articles.jsonl]              previous model, plain TF-IDF and current model, one table
    real     stats | fetch [--out var/real/articles.jsonl] the real-article development set: its counts, or
                                                            rebuild the local copy of its texts from the URLs
    predict  --input FILE.jsonl [--output FILE] [--model DIR]
    promote  VERSION [--out DIR]
    list     [--out DIR] [--json]
    label export-uncertain [--limit 200] [--out FILE.jsonl|FILE.csv] [--band 0.2]
                                                            unlabelled articles nearest the live threshold
    label import FILE [--who NAME] [--source file] [--dry-run]
                                                            analysts' labels (CSV or JSONL) into the store

The registry is WATCH_MODEL_DIR (default var/models). --model takes a version directory or a
registry (its live version is used). A model is promoted only by `promote`, except the very
first one trained into an empty registry, which becomes live so the pipeline can run. The label
commands work on the store, WATCH_DB_URL (default var/watch.db); there --out is the file written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from classifiers import registry
from classifiers.data import read_jsonl

BATCH = 2000


class Progress:
    """One line per step on stderr, with a step counter and elapsed time."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.stream, self.started = total, 0, stream, time.monotonic()

    def __call__(self, message: str) -> None:
        self.done += 1
        width = len(str(self.total))
        self.stream.write(f"[{self.done:>{width}}/{self.total}] {message} "
                          f"({time.monotonic() - self.started:.0f}s)\n")
        self.stream.flush()


def _model_from(arg: str | None, root: Path) -> tuple[Any, dict[str, Any], str]:
    if arg:
        path = Path(arg)
        if (path / registry.LIVE_FILE).is_file() and not (path / registry.MODEL_FILE).is_file():
            model, meta = registry.load_live(path)
        else:
            model, meta = registry.load(path)
    else:
        model, meta = registry.load_live(root)
    return model, meta, meta.get("version", str(arg))


def cmd_train(args: argparse.Namespace, root: Path) -> int:
    from classifiers.model import train  # noqa: F401 - import errors surface before the long run
    from classifiers.training import train_version

    c_grid = tuple(args.c) if args.c else (8.0, 16.0, 32.0, 64.0)
    progress = Progress(len(c_grid) * 5 + 1)
    print(f"training into {root} (folds grouped by partnership event, C grid {list(c_grid)})", file=sys.stderr)
    version, report = train_version([Path(p) for p in args.data or []], db_url=os.environ.get("WATCH_DB_URL"),
                                    root=root, include_corpus=not args.no_corpus, progress=progress, c_grid=c_grid)
    promoted = False
    if registry.live_name(root) is None:
        registry.promote(version.name, root)
        promoted = True
    cv = report["cv"]
    summary = {"version": version.name, "path": str(version.path), "live": promoted or registry.live_name(root) == version.name,
               "items": version.meta["data_counts"]["items"], "sources": version.meta["sources"],
               "cv_precision": cv["precision"], "cv_recall": cv["recall"], "cv_f1": cv["f1"],
               "cv_average_precision": cv.get("average_precision"), "threshold": cv["threshold"],
               "confusion_matrix": cv["confusion_matrix"], "train_seconds": version.meta["train_seconds"]}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if not summary["live"]:
        print(f"not live yet: compare with `python -m classifiers list`, then `python -m classifiers promote "
              f"{version.name}`", file=sys.stderr)
    return 0


def cmd_evaluate(args: argparse.Namespace, root: Path) -> int:
    from classifiers.data import load_labelled
    from classifiers.evaluate import evaluate, plot, report

    model, meta, name = _model_from(args.model, root)
    data = Path(args.data)
    rows, errors = load_labelled([data])
    for error in errors:
        print(f"skipped {error}", file=sys.stderr)
    if not rows:
        print(f"error: no usable labelled line in {data}", file=sys.stderr)
        return 2
    result, labels, scores = evaluate(model, rows)
    result["model_version"] = name
    plots_dir = Path(args.plots) if args.plots else _var_dir() / "evaluate" / data.stem
    result["plots"] = plot(labels, scores, model.threshold, plots_dir, data.stem, f"({name} on {data.name})")
    result["skipped_lines"] = len(errors)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(report(result, data.name))
    return 0


def _var_dir() -> Path:
    from aiwatch.config import Settings

    return Settings.from_env().var_dir


def _predict_stream(model: Any, lines: Any, out: TextIO) -> tuple[int, int]:
    scored = skipped = 0
    batch: list[tuple[Any, dict[str, str]]] = []

    def flush() -> None:
        nonlocal scored
        predictions = model.predict([item for _, item in batch])
        for (item_id, _), p in zip(batch, predictions, strict=True):
            out.write(json.dumps({"id": item_id, "score": p.score, "label": p.label, "explanation": p.explanation},
                                 ensure_ascii=False) + "\n")
        scored += len(batch)
        batch.clear()

    for number, row, error in lines:
        if error is None:
            title, text = row.get("title"), row.get("text")
            if title is not None and not isinstance(title, str) or text is not None and not isinstance(text, str):
                error = "'title' and 'text' must be strings"
            elif not (title or text):
                error = "needs a non-empty 'title' or 'text'"
        if error:
            print(f"line {number}: {error}; skipped", file=sys.stderr)
            skipped += 1
            continue
        batch.append((row.get("id", number), {"title": row.get("title") or "", "text": row.get("text") or ""}))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return scored, skipped


def cmd_predict(args: argparse.Namespace, root: Path) -> int:
    model, meta, name = _model_from(args.model, root)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        scored, skipped = _predict_stream(model, read_jsonl(args.input), out)
    finally:
        if args.output:
            out.close()
    print(f"scored {scored} items with model {name} (threshold {model.threshold:.3f}); {skipped} malformed "
          "line(s) skipped", file=sys.stderr)
    return 0


def cmd_promote(args: argparse.Namespace, root: Path) -> int:
    previous = registry.live_name(root)
    version = registry.promote(args.version, root)
    print(f"{version.name} is live (was {previous or 'none'}); metrics: {json.dumps(version.meta.get('metrics', {}))}")
    return 0


def cmd_list(args: argparse.Namespace, root: Path) -> int:
    found = registry.versions(root)
    if args.json:
        print(json.dumps([{"version": v.name, "live": v.live, **v.meta} for v in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print(f"no model in {root}; train one with `python -m classifiers train`")
        return 0
    print(f"{'':2}{'version':8} {'created':20} {'items':>6} {'prec':>6} {'recall':>6} {'F1':>6} {'thresh':>6}  sklearn")
    for v in found:
        m = v.meta.get("metrics", {})
        print(f"{'*' if v.live else ' ':2}{v.name:8} {str(v.meta.get('created_at', ''))[:19]:20} "
              f"{v.meta.get('data_counts', {}).get('items', ''):>6} {_figure(m.get('precision')):>6} "
              f"{_figure(m.get('recall')):>6} {_figure(m.get('f1')):>6} {_figure(v.meta.get('threshold')):>6}  "
              f"{v.meta.get('sklearn_version', '')}")
    print("* = live")
    return 0


def _figure(value: Any) -> str:
    """A metric with three decimals, so a column of them lines up and compares ("0.970", not "0.97")."""
    return f"{value:.3f}" if isinstance(value, int | float) and not isinstance(value, bool) else "–"


RETRAIN_HINT = ("to retrain on the stored labels now, trigger the retrain_classifier DAG "
                "(`airflow dags trigger retrain_classifier`) or train locally with `python -m classifiers train`")


def cmd_label(args: argparse.Namespace, root: Path) -> int:
    from aiwatch.config import Settings
    from sqlalchemy.exc import SQLAlchemyError

    from classifiers import labelling

    db_url = Settings.from_env().db_url
    try:
        store = labelling.open_store(db_url)
        if args.label_command == "export-uncertain":
            return _label_export(args, root, store)
        return _label_import(args, store)
    except SQLAlchemyError as exc:
        print(f"error: store {labelling.shown_url(db_url)}: "
              f"{str(getattr(exc, 'orig', None) or exc).strip()}", file=sys.stderr)
        return 2


def _label_export(args: argparse.Namespace, root: Path, store: Any) -> int:
    from classifiers import labelling

    export = labelling.export_uncertain(store, root, limit=args.limit, band=args.band)
    if args.output:
        labelling.write_file(export.rows, Path(args.output))
    else:
        labelling.write_rows(export.rows, sys.stdout, "jsonl")
        sys.stdout.flush()
    print(export.summary(args.output or "stdout"), file=sys.stderr)
    return 0


def _label_import(args: argparse.Namespace, store: Any) -> int:
    from classifiers import labelling

    try:
        result = labelling.import_labels(store, args.file, who=os.environ.get("USER", ""), source=args.source,
                                         dry_run=args.dry_run, forced_who=args.who)
    except labelling.LabelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for error in result.errors:
        print(f"{error}; skipped", file=sys.stderr)
    print(result.summary())
    if result.dry_run and (result.new or result.updated):
        print("once imported, the labels Asset is updated through Airflow's API when "
              "WATCH_RETRAIN_MIN_LABELS labels have gathered since the newest model", file=sys.stderr)
    elif result.new or result.updated:
        from aiwatch import feedback
        from aiwatch.config import Settings

        signal = feedback.request_retraining(Settings.from_env(), {"source": args.source, "file": str(args.file)})
        print(signal.message, file=sys.stderr)
        if not signal.updated:
            print(RETRAIN_HINT, file=sys.stderr)
    return result.exit_code


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {raw}")
    return value


def _band(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {raw}")
    return value


def _source(raw: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,15}", raw):
        raise argparse.ArgumentTypeError(f"{raw!r}: use up to 16 lower-case letters, digits, '-' or '_'")
    return raw


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classifiers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a new model version")
    train.add_argument("--data", nargs="*", action="extend", help="extra labelled JSONL files")
    train.add_argument("--out", help="registry directory (default WATCH_MODEL_DIR or var/models)")
    train.add_argument("--no-corpus", action="store_true", help="train on --data (and store labels) only")
    train.add_argument("--c", type=float, nargs="*", help=argparse.SUPPRESS)
    evaluate = sub.add_parser("evaluate", help="metrics and plots on a labelled JSONL file")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--model", help="version directory or registry (default: the live model)")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON instead of a report")
    evaluate.add_argument("--plots", help="where the PNG plots go (default var/evaluate/<data file name>/)")
    evaluate.add_argument("--out", help="registry directory")
    compare = sub.add_parser("compare", help="previous model, plain TF-IDF and current model on CV, validation, real")
    compare.add_argument("--real", help="local real-article set (default var/real/articles.jsonl)")
    compare.add_argument("--models", help="comma-separated subset of previous,tfidf,current")
    compare.add_argument("--out-dir", default="var/compare", help="where the table and JSON go (default var/compare)")
    real = sub.add_parser("real", help="the real-article development set (labels committed, texts local)")
    real_sub = real.add_subparsers(dest="real_command", required=True)
    real_sub.add_parser("stats", help="counts of the committed list")
    real_fetch = real_sub.add_parser("fetch", help="download the listed articles into the local copy")
    real_fetch.add_argument("--out", dest="output", help="default var/real/articles.jsonl")
    predict = sub.add_parser("predict", help="score a JSONL file of {id, title, text}")
    predict.add_argument("--input", required=True)
    predict.add_argument("--output")
    predict.add_argument("--model")
    predict.add_argument("--out", help="registry directory")
    promote = sub.add_parser("promote", help="make a version live")
    promote.add_argument("version")
    promote.add_argument("--out", help="registry directory")
    listing = sub.add_parser("list", help="versions, metrics, which is live")
    listing.add_argument("--out", help="registry directory")
    listing.add_argument("--json", action="store_true")
    label = sub.add_parser("label", help="export articles to label, import analysts' labels")
    label_sub = label.add_subparsers(dest="label_command", required=True)
    export = label_sub.add_parser("export-uncertain",
                                  help="the unlabelled articles the live model is least sure of")
    export.add_argument("--limit", type=_positive_int, default=200, help="rows to export (default 200)")
    export.add_argument("--out", dest="output", metavar="FILE",
                        help="FILE.jsonl or FILE.csv (default: JSONL on stdout)")
    export.add_argument("--band", type=_band, default=0.2,
                        help="how far from the threshold counts as unsure (default 0.2); the nearest "
                             "articles outside it fill up to --limit")
    imported = label_sub.add_parser("import", help="record a CSV or JSONL file of labels in the store")
    imported.add_argument("file", help="CSV or JSONL with article_id or url, and label (0/1, yes/no, ...)")
    imported.add_argument("--who", help="labeller of every row, over the file's 'who' column (default: the "
                               "row's 'who', else $USER)")
    imported.add_argument("--source", type=_source, default="file",
                          help="label source recorded (default file)")
    imported.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    return parser


def cmd_real(args: argparse.Namespace, root: Path) -> int:
    from classifiers import realset

    if args.real_command == "stats":
        print(json.dumps(realset.summary(realset.entries()), indent=2, ensure_ascii=False))
        return 0
    outcome = realset.fetch(out_path=Path(args.output) if args.output else realset.LOCAL_FILE)
    for item_id, why in outcome["failed"]:
        print(f"{item_id}: not fetched ({why})", file=sys.stderr)
    print(f"{outcome['written']} articles written to {outcome['out']}; {len(outcome['failed'])} not reachable")
    return 0


def cmd_compare(args: argparse.Namespace, root: Path) -> int:
    from classifiers.compare import REAL_DEFAULT, run

    real = Path(args.real) if args.real else REAL_DEFAULT
    if not real.is_file():
        print(f"note: no real-article set at {real}: comparing on cross-validation and validation only "
              "(see classifiers/data/README.md to build the local copy)", file=sys.stderr)
    models = tuple(args.models.split(",")) if args.models else ("previous", "tfidf", "current")
    outcome = run(real if real.is_file() else None, Path(args.out_dir), models=models)
    print(outcome["table"])
    print(f"\n(real-article items: {outcome['real_items']}; table and JSON in {outcome['out']})", file=sys.stderr)
    return 0


COMMANDS = {"real": cmd_real, "compare": cmd_compare, "train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "promote": cmd_promote,
            "list": cmd_list, "label": cmd_label}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    root = Path(args.out) if getattr(args, "out", None) else registry.registry_dir()
    try:
        return COMMANDS[args.command](args, root)
    except registry.ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
