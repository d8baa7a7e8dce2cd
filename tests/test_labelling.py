"""Analysts' labelling round trip: export the least certain articles, import labels back, on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiwatch.store import Store
from aiwatch.store.labels import add_label, labelled_articles, record_labels
from aiwatch.store.models import Article, FeedState, Label
from aiwatch.store.repo import save_classifications
from aiwatch.urls import url_key
from sqlalchemy import select

from classifiers import labelling
from classifiers.cli import main

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 9, 12, 10, 0, tzinfo=UTC)
LIVE, OLD = "v0002", "v0001"
TRICKY_TEXT = ('Le ministère, l\'ADD et "Mistral AI" signent un accord;\nligne 2, avec virgules\r\n'
               "et une ligne en arabe: المغرب يوقع اتفاقية في الذكاء الاصطناعي")


def add_article(store: Store, url: str, title: str, text: str = "", duplicate_of: int | None = None,
                published: datetime | None = NOW) -> int:
    def work(session):
        article = Article(url=url, url_key=url_key(url), feed="outlet-a", outlet="outlet.ma", title=title,
                          text=text, summary="", published_at=published, lang="fr", fetch_status="ok",
                          created_at=NOW, duplicate_of=duplicate_of)
        session.add(article)
        session.flush()
        return article.id

    return store.write(work)


def make_registry(root: Path, live: str | None = LIVE, threshold: float | None = 0.4) -> Path:
    """A registry directory with just what the export reads: LIVE and the live version's meta.json."""
    root.mkdir(parents=True, exist_ok=True)
    if live:
        (root / live).mkdir()
        meta = {"version": live} if threshold is None else {"version": live, "threshold": threshold}
        (root / live / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        (root / "LIVE").write_text(live + "\n", encoding="utf-8")
    return root


@pytest.fixture
def scored(store_url: str) -> tuple[Store, dict[str, int]]:
    """Articles scored by the live model (threshold 0.4) and an older one; one labelled, one duplicate."""
    store = labelling.open_store(store_url)
    ids = {name: add_article(store, f"https://www.outlet.ma/{name}", f"Article {name}", text=TRICKY_TEXT)
           for name in "ABCDEFH"}
    ids["G"] = add_article(store, "https://www.outlet.ma/G", "Article G", duplicate_of=ids["A"])
    save_classifications(store, OLD, [(ids["A"], 0.99, 1, ""), (ids["H"], 0.40, 0, "")],
                         now=NOW - timedelta(days=1))
    live = {"A": 0.41, "B": 0.35, "C": 0.55, "D": 0.90, "E": 0.02, "F": 0.45, "G": 0.40}
    save_classifications(store, LIVE, [(ids[n], s, int(s >= 0.4), "") for n, s in live.items()], now=NOW)
    add_label(store, ids["F"], 1, source="slack", who="U1")
    return store, ids


def names(export: labelling.UncertainExport, ids: dict[str, int]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[row["article_id"]] for row in export.rows]


def test_export_orders_by_distance_to_live_threshold_and_skips_labelled_and_duplicates(scored, tmp_path):
    store, ids = scored
    models = make_registry(tmp_path / "models")
    export = labelling.export_uncertain(store, models, limit=3, band=0.2)
    assert names(export, ids) == ["A", "B", "C"]
    assert (export.threshold, export.model_version, export.in_band, export.candidates) == (0.4, LIVE, 3, 5)
    assert [row["score"] for row in export.rows] == [0.41, 0.35, 0.55]  # the live model's, not v0001's 0.99
    assert {row["model_version"] for row in export.rows} == {LIVE}

    # Fewer than --limit inside the band: the nearest outside fill up, and the summary says how many.
    wide = labelling.export_uncertain(store, models, limit=10, band=0.2)
    assert names(wide, ids) == ["A", "B", "C", "E", "D"]
    assert wide.in_band == 3 and "3 within ±0.2" in wide.summary("x") and "2 outside" in wide.summary("x")
    narrow = labelling.export_uncertain(store, models, limit=3, band=0.04)
    assert names(narrow, ids) == ["A", "B", "C"] and narrow.in_band == 1

    add_label(store, ids["A"], 0, source="file", who="amina")
    assert names(labelling.export_uncertain(store, models, limit=2), ids) == ["B", "C"]


def test_export_falls_back_to_newest_classification_and_default_threshold(scored, tmp_path):
    store, ids = scored
    # The live model has scored nothing yet: each article's newest verdict, whoever gave it.
    fresh = make_registry(tmp_path / "fresh", live="v0003", threshold=0.4)
    export = labelling.export_uncertain(store, fresh, limit=3)
    assert export.model_version is None and names(export, ids) == ["H", "A", "B"]
    assert [row["model_version"] for row in export.rows] == [OLD, LIVE, LIVE]
    assert "live model v0003 has scored none" in export.summary("stdout")
    # No live model at all: threshold 0.5; a meta.json without a threshold: 0.5 as well.
    for models in (make_registry(tmp_path / "empty", live=None),
                   make_registry(tmp_path / "bad", threshold=None)):
        export = labelling.export_uncertain(store, models, limit=2)
        assert export.threshold == 0.5
        assert names(export, ids) == ["C", "A"]  # |0.55-0.5| = 0.05 < |0.41-0.5| = 0.09; F is labelled


def test_export_names_the_store_and_the_outlet_as_readers_know_it(tmp_path):
    """The outlet column is the outlet's name (the feed list's title, the page's site name), never a
    loopback host; the summary says which store was read (the demo's and the real one differ)."""
    store = labelling.open_store(f"sqlite:///{tmp_path / 'which.db'}")

    def work(session):
        session.add(FeedState(name="hespress-fr", url="http://127.0.0.1:45201/feed.xml", display_name="Hespress FR"))
        ids = []
        for i, (feed, site) in enumerate((("hespress-fr", None), ("other", "Le360"), ("bare", None))):
            article = Article(url=f"http://127.0.0.1:45201/{i}", url_key=f"k{i}", feed=feed, outlet="127.0.0.1:45201",
                              site_name=site, title=f"T{i}", text="t", summary="", lang="fr", fetch_status="ok",
                              created_at=NOW)
            session.add(article)
            session.flush()
            ids.append(article.id)
        return ids

    ids = store.write(work)
    save_classifications(store, LIVE, [(i, 0.4, 1, "") for i in ids], now=NOW)
    export = labelling.export_uncertain(store, make_registry(tmp_path / "models"), limit=5)
    outlets = {row["article_id"]: row["outlet"] for row in export.rows}
    assert outlets == {ids[0]: "Hespress FR", ids[1]: "Le360", ids[2]: "bare"}
    assert f"from store sqlite:///{tmp_path / 'which.db'} to stdout" in export.summary("stdout")


def test_export_summary_hides_the_store_password():
    export = labelling.UncertainExport((), 0.5, "x", None, None, 0.2, 10, 0, 0,
                                       labelling.shown_url("postgresql://watch:s3cret@db/watch"))
    assert "s3cret" not in export.summary("stdout") and "postgresql://watch:***@db/watch" in export.summary("stdout")


def test_export_row_shape_and_text_cut_at_a_word(tmp_path):
    store = labelling.open_store(f"sqlite:///{tmp_path / 'w.db'}")
    long_text = " ".join(f"mot{i}" for i in range(2000))
    article = add_article(store, "https://outlet.ma/long", "Un long article", text=long_text, published=None)
    save_classifications(store, LIVE, [(article, 0.4123456, 1, "")], now=NOW)
    (row,) = labelling.export_uncertain(store, make_registry(tmp_path / "models")).rows
    assert list(row) == list(labelling.EXPORT_FIELDS)
    assert row["label"] is None and row["published"] is None and row["score"] == 0.4123
    assert len(row["text"]) <= labelling.TEXT_CHARS and row["text"].endswith("…")
    kept = row["text"][:-1]
    assert long_text.startswith(kept) and long_text[len(kept)] == " "  # cut between two words


def fill_csv(path: Path, labels: dict[int, str], who: dict[int, str] | None = None) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["label"] = labels.get(int(row["article_id"]), "")
        if who and int(row["article_id"]) in who:
            row["who"] = who[int(row["article_id"])]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*labelling.EXPORT_FIELDS, "who"])
        writer.writeheader()
        writer.writerows(rows)


def label_times(store: Store) -> dict[tuple[int, str], datetime]:
    return store.read(lambda s: {(r.article_id, r.who): r.at for r in s.scalars(select(Label).where(
        Label.source == "file"))})


def test_csv_round_trip_and_idempotent_reimport(scored, tmp_path):
    store, ids = scored
    out = tmp_path / "batch.csv"
    export = labelling.export_uncertain(store, make_registry(tmp_path / "models"), limit=3)
    assert labelling.write_file(export.rows, out) == 3
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.startswith(b"article_id,url,outlet,")
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["text"] for r in rows] == [TRICKY_TEXT] * 3  # quotes, commas, newlines and Arabic intact
    assert rows[0]["label"] == ""

    fill_csv(out, {ids["A"]: "yes", ids["B"]: "Not relevant"})
    first = labelling.import_labels(store, out, who="amina")
    assert (first.new, first.updated, first.unchanged, first.blank, first.errors) == (2, 0, 0, 1, ())
    assert first.exit_code == 0
    training = {row["id"]: row["label"] for row in labelled_articles(store)}
    assert training == {f"article:{ids['A']}": 1, f"article:{ids['B']}": 0, f"article:{ids['F']}": 1}
    times = label_times(store)

    again = labelling.import_labels(store, out, who="amina")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2) and "0 new" in again.summary()
    assert label_times(store) == times  # nothing rewritten, not even the time

    fill_csv(out, {ids["A"]: "no", ids["B"]: "0"})
    changed = labelling.import_labels(store, out, who="amina")
    assert (changed.new, changed.updated, changed.unchanged) == (0, 1, 1)
    assert {row["id"]: row["label"] for row in labelled_articles(store)}[f"article:{ids['A']}"] == 0


def test_jsonl_round_trip_through_the_cli(scored, tmp_path, monkeypatch, capsys):
    store, ids = scored
    monkeypatch.setenv("WATCH_DB_URL", store.url)
    monkeypatch.setenv("WATCH_MODEL_DIR", str(make_registry(tmp_path / "models")))
    monkeypatch.setenv("USER", "karim")
    assert main(["label", "export-uncertain", "--limit", "2"]) == 0
    captured = capsys.readouterr()
    streamed = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["article_id"] for r in streamed] == [ids["A"], ids["B"]]
    assert f"exported 2 article(s) from store {store.url} to stdout" in captured.err

    out = tmp_path / "batch.jsonl"
    assert main(["label", "export-uncertain", "--limit", "3", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["article_id"] for r in rows] == [ids["A"], ids["B"], ids["C"]]
    assert rows[0]["text"] == TRICKY_TEXT
    rows[0].update(label=1, category="pos", note="MoU signé")
    rows[1].update(label="pos", who="salma")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    capsys.readouterr()

    assert main(["label", "import", str(out), "--dry-run"]) == 0
    assert "dry run, nothing written" in capsys.readouterr().out and len(labelled_articles(store)) == 1

    assert main(["label", "import", str(out)]) == 0
    captured = capsys.readouterr()
    assert "2 new, 0 updated, 0 unchanged, 1 skipped blank, 0 error(s)" in captured.out
    assert "airflow dags trigger retrain_classifier" in captured.err
    assert "python -m classifiers train" in captured.err
    stored = store.read(lambda s: {r.article_id: (r.label, r.who, r.note, r.category, r.source) for r in s.scalars(
        select(Label).where(Label.source == "file"))})
    # The category stays a category (the training rows carry it), the note stays the analyst's words.
    assert stored == {ids["A"]: (1, "karim", "MoU signé", "pos", "file"), ids["B"]: (1, "salma", None, None, "file")}
    training = {row["id"]: row["category"] for row in labelled_articles(store)}
    assert training[f"article:{ids['A']}"] == "pos" and training[f"article:{ids['B']}"] is None

    assert main(["label", "import", str(out)]) == 0
    assert "0 new, 0 updated, 2 unchanged" in capsys.readouterr().out

    # An explicit --who names the labeller of every row, over the file's own 'who' column.
    assert main(["label", "import", str(out), "--who", "nadia"]) == 0
    assert "2 new, 0 updated, 0 unchanged" in capsys.readouterr().out
    by_nadia = store.read(lambda s: sorted(r.article_id for r in s.scalars(
        select(Label).where(Label.source == "file", Label.who == "nadia"))))
    assert by_nadia == sorted([ids["A"], ids["B"]])

    # A changed category is a changed label (and moves the retraining count); the same one is not.
    rows[0].update(category="pos", note="MoU signé")
    rows[1].update(label=0, category="neg-old-or-recap")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert main(["label", "import", str(out)]) == 0
    assert "0 new, 1 updated, 1 unchanged" in capsys.readouterr().out


def test_urls_with_tracking_parameters_and_www_variants_find_the_article(store_url, tmp_path):
    store = labelling.open_store(store_url)
    a = add_article(store, "https://www.outlet.ma/tech/accord-ia", "Accord IA")
    b = add_article(store, "https://outlet.ma/eco/article?id=7&page=2", "Accord data centre")
    source = tmp_path / "by-url.csv"
    source.write_text(
        "url,label,who\n"
        "http://outlet.ma/tech/accord-ia/?utm_source=twitter&utm_medium=social#top,1,amina\n"
        "https://OUTLET.ma/eco/article?page=2&id=7&fbclid=xyz,0,amina\n"
        "https://outlet.ma/tech/accord-ia,1,karim\n"
        "https://outlet.ma/unknown-story,1,amina\n", encoding="utf-8")
    result = labelling.import_labels(store, source)
    assert (result.new, result.exit_code) == (3, 0)
    assert [(e.line, e.message) for e in result.errors] == [(5, "no stored article with url "
                                                               "https://outlet.ma/unknown-story")]
    stored = store.read(lambda s: sorted((r.article_id, r.who, r.label) for r in s.scalars(select(Label))))
    assert stored == sorted([(a, "amina", 1), (b, "amina", 0), (a, "karim", 1)])


def test_bad_rows_are_reported_by_line_and_good_rows_still_import(store_url, tmp_path, monkeypatch, capsys):
    store = labelling.open_store(store_url)
    a = add_article(store, "https://outlet.ma/a", "A")
    b = add_article(store, "https://outlet.ma/b", "B")
    lines = [
        json.dumps({"article_id": a, "label": 1}),                                   # 1 ok
        '{"article_id": 1, "label": ',                                               # 2 malformed JSON
        json.dumps({"article_id": 999999, "label": 0}),                              # 3 unknown article
        json.dumps({"article_id": b, "label": "maybe"}),                             # 4 bad label
        json.dumps({"title": "no id", "label": 1}),                                  # 5 no id or url
        "",                                                                          # 6 blank line
        json.dumps({"url": "https://www.outlet.ma/b?utm_campaign=x", "label": "no"}),  # 7 ok by url
        json.dumps({"article_id": b, "label": None}),                                # 8 blank label
        json.dumps({"article_id": a, "url": "https://outlet.ma/b", "label": 1}),     # 9 id and url disagree
        json.dumps({"article_id": b, "label": 1, "category": "neg-other"}),          # 10 contradiction
        json.dumps([1, 2]),                                                          # 11 not an object
        json.dumps({"article_id": "article:abc", "label": 1}),                       # 12 bad id
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("WATCH_DB_URL", store_url)
    monkeypatch.setenv("WATCH_MODEL_DIR", str(tmp_path / "models"))
    assert main(["label", "import", str(source), "--who", "amina"]) == 0
    captured = capsys.readouterr()
    assert "2 new, 0 updated, 0 unchanged, 1 skipped blank, 8 error(s)" in captured.out
    expected = {2: "not valid JSON", 3: "no stored article with id 999999", 4: "label 'maybe' is not one of",
                5: "no 'article_id' or 'url'", 9: f"article {a} is outlet.ma/a, but the row's url is",
                10: "contradicts category 'neg-other'", 11: "expected a JSON object",
                12: "not an article number"}
    reported = [line for line in captured.err.splitlines() if line.startswith(f"{source}:")]
    assert len(reported) == len(expected)
    for line, reason in expected.items():
        prefix = f"{source}:{line}: "
        assert any(r.startswith(prefix) and reason in r and r.endswith("; skipped") for r in reported), line
    stored = store.read(lambda s: sorted((r.article_id, r.label, r.who) for r in s.scalars(select(Label))))
    assert stored == [(a, 1, "amina"), (b, 0, "amina")]


def test_csv_line_numbers_count_multiline_cells_and_semicolons_are_sniffed(tmp_path):
    store = labelling.open_store(f"sqlite:///{tmp_path / 'w.db'}")
    a = add_article(store, "https://outlet.ma/a", "A")
    source = tmp_path / "excel.csv"
    content = f'article_id;title;label\n{a};"two\nlines; here";oui?\n\n{a};ok;TRUE\n'
    source.write_text(content, encoding="utf-8")
    result = labelling.import_labels(store, source)
    assert [e.line for e in result.errors] == [2] and result.new == 1
    assert source.name in str(result.errors[0]) and "'oui?'" in result.errors[0].message


@pytest.mark.parametrize(("raw", "expected"), [
    (1, 1), (0, 0), (True, 1), (False, 0), (1.0, 1), ("1", 1), ("0", 0), (" Yes ", 1), ("no", 0),
    ("true", 1), ("FALSE", 0), ("relevant", 1), ("not relevant", 0), ("Not  Relevant", 0), ("pos", 1),
    ("neg", 0), ("1.0", 1), ("", None), ("   ", None), (None, None),
])
def test_label_words(raw, expected):
    assert labelling.parse_label(raw) == expected


@pytest.mark.parametrize("raw", [2, -1, 0.5, "maybe", "2", "oui?", [1], {"a": 1}])
def test_label_words_refused(raw):
    with pytest.raises(ValueError, match="is not one of"):
        labelling.parse_label(raw)


def test_exit_codes(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = labelling.open_store(url)
    a = add_article(store, "https://outlet.ma/a", "A")
    monkeypatch.setenv("WATCH_DB_URL", url)
    monkeypatch.setenv("WATCH_MODEL_DIR", str(tmp_path / "models"))

    def run(name: str, content: str | bytes | None) -> tuple[int, str]:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content, encoding="utf-8")
        code = main(["label", "import", str(path)])
        return code, capsys.readouterr().err

    all_bad = run("all-bad.csv", "article_id,label\n999,1\n998,0\n,\n")
    assert all_bad[0] == 1 and "all-bad.csv:2: no stored article with id 999" in all_bad[1]
    assert run("blank.jsonl", json.dumps({"article_id": a, "label": ""}) + "\n")[0] == 0
    assert run("empty.jsonl", "")[0] == 0
    assert run("one-good.csv", f"article_id,label\n{a},1\n999,1\n")[0] == 0
    missing = run("missing.csv", None)
    assert missing[0] == 2 and "missing.csv: no such file" in missing[1]
    latin1 = run("latin1.csv", "article_id,label,note\n1,1,caf\xe9\n".encode("latin-1"))
    assert latin1[0] == 2 and "not UTF-8" in latin1[1]
    no_label = run("no-label.csv", "article_id,verdict\n1,1\n")
    assert no_label[0] == 2 and "needs a 'label' column" in no_label[1]
    array = run("array.json", json.dumps([{"article_id": a, "label": 1}]))
    assert array[0] == 2 and "JSON Lines" in array[1]
    assert main(["label", "import", str(tmp_path)]) == 2  # a directory
    assert "cannot be read" in capsys.readouterr().err


def test_record_labels_outcomes_and_dry_run(tmp_path):
    store = labelling.open_store(f"sqlite:///{tmp_path / 'w.db'}")
    a = add_article(store, "https://outlet.ma/a", "A")
    item = labelling.LabelInput(a, 1, "amina", None)
    assert record_labels(store, [item], "file", dry_run=True) == ["new"]
    assert labelled_articles(store) == []
    assert record_labels(store, [item, item, labelling.LabelInput(a, 0, "amina", None)], "file") == \
        ["new", "unchanged", "updated"]
    assert [row["label"] for row in labelled_articles(store)] == [0]
    # Another source or another person is another label, not a change of this one.
    assert record_labels(store, [labelling.LabelInput(a, 0, "amina", None)], "slack") == ["new"]
    with pytest.raises(ValueError, match="label must be 0 or 1"):
        record_labels(store, [labelling.LabelInput(a, 3, "amina", None)], "file")


def test_subprocess_export_and_import(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = labelling.open_store(url)
    a = add_article(store, "https://outlet.ma/a", "A")
    save_classifications(store, LIVE, [(a, 0.42, 1, "")], now=NOW)
    env = {**os.environ, "WATCH_DB_URL": url, "WATCH_MODEL_DIR": str(make_registry(tmp_path / "models")),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "classifiers", "label", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=300)

    out = tmp_path / "batch.csv"
    exported = cli("export-uncertain", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "exported 1 article(s)" in exported.stderr and "threshold 0.400" in exported.stderr
    row = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert row["article_id"] == str(a) and row["score"] == "0.42" and row["model_version"] == LIVE
    filled = out.read_text(encoding="utf-8").replace(f"{LIVE},A,,,,", f"{LIVE},A,,1,pos,")
    assert filled != out.read_text(encoding="utf-8")
    out.write_text(filled, encoding="utf-8")
    imported = cli("import", str(out), "--who", "amina")
    assert imported.returncode == 0, imported.stderr
    assert "1 new" in imported.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"article_id": 12345, "label": 1}\n', encoding="utf-8")
    failed = cli("import", str(bad))
    assert failed.returncode == 1 and "bad.jsonl:1: no stored article with id 12345" in failed.stderr
    assert cli("export-uncertain", "--band", "-1").returncode == 2  # argparse refuses


def test_import_asks_airflow_to_update_the_labels_asset_and_says_why_not(scored, tmp_path, monkeypatch, capsys):
    """Enough new labels: the import asks Airflow's API for an Asset event; when the api-server is
    down the labels are still recorded and the message names the server and the reason."""
    import socket

    store, ids = scored
    with socket.socket() as sock:   # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("WATCH_DB_URL", store.url)
    monkeypatch.setenv("WATCH_MODEL_DIR", str(make_registry(tmp_path / "models")))
    monkeypatch.setenv("WATCH_RETRAIN_MIN_LABELS", "2")
    monkeypatch.setenv("WATCH_AIRFLOW_API_URL", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("WATCH_AIRFLOW_API_USER", "admin")
    monkeypatch.setenv("WATCH_AIRFLOW_API_PASSWORD", "pw")
    out = tmp_path / "labels.csv"
    out.write_text(f"article_id,label\n{ids['A']},yes\n", encoding="utf-8")
    assert main(["label", "import", str(out)]) == 0
    err = capsys.readouterr().err
    # F's Slack label and A's: two, enough, so Airflow is asked (and is down).
    assert f"the labels Asset was not updated: Airflow's API at http://127.0.0.1:{closed} is unreachable" in err
    assert "airflow dags trigger retrain_classifier" in err
    assert len(labelled_articles(store)) == 2

    monkeypatch.setenv("WATCH_RETRAIN_MIN_LABELS", "50")
    out.write_text(f"article_id,label\n{ids['B']},no\n", encoding="utf-8")
    assert main(["label", "import", str(out)]) == 0
    assert "3 new label(s) and no model trained yet; retraining waits for 50" in capsys.readouterr().err
