"""`python -m bench [--quick]`: run the benchmarks, print them, write var/bench/<timestamp>.json.

Measured in one run, on one workload (bench/workload.py: 40 outlets x 25 articles of real-world
pages on loopback, 4 x 25 with --quick), each figure the median of several runs (fewer with
--quick): the cold cycle through the pipeline's own functions, the warm cycle (all 304), the naive
loop at 0 and 50 ms per request, the extraction floor, the same cycle under ``airflow dags test``,
and the classifier. Benchmarks are not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import airflow_cycle, baselines, grouping, predict, workload

REPO = Path(__file__).resolve().parents[1]
LATENCY_S = 0.05
TARGETS = {"cold_vs_extraction_floor": 1.5, "cold_vs_naive_50ms": 5.0, "warm_cycle_s": 1.0, "peak_rss_mb": 500.0,
           "predict_docs_per_s": 2000.0, "grouping_resolve_s": 2.0}


def machine() -> dict[str, object]:
    import sklearn

    info: dict[str, object] = {"python": platform.python_version(), "platform": platform.platform(),
                               "cpus": os.cpu_count(), "sklearn": sklearn.__version__}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except (OSError, ValueError):
        pass
    return info


def model_registry(root: Path) -> Path:
    """A registry with a live default model (one C: quick), trained once and kept under var/bench."""
    from classifiers import registry
    from classifiers.training import train_version

    try:
        registry.load_live(root)
        return root
    except Exception:  # absent, or made by another scikit-learn version: train a new one
        shutil.rmtree(root, ignore_errors=True)
    version, _ = train_version(root=root, c_grid=(32.0,))
    registry.promote(version.name, root)
    return root


def cold_and_warm(sites: workload.Sites, tmp: Path, models: Path, runs: int, warm: int, max_pages: int,
                  profile: Path | None) -> list[dict[str, Any]]:
    """``runs`` fresh processes, each a cold cycle on an empty store then ``warm`` warm cycles.

    With ``profile``, one more cold cycle runs first under pyinstrument; it is not counted.
    """
    feeds_file = sites.write_feeds_file(tmp / "feeds.yaml")
    results = []
    for i in range(-1 if profile else 0, runs):
        db = tmp / f"cycle-{i}.db"
        command = [sys.executable, "-m", "bench.cycle", "--feeds-file", str(feeds_file), "--db", f"sqlite:///{db}",
                   "--models", str(models), "--outbox", str(tmp / f"outbox-{i}.jsonl"), "--warm", str(warm),
                   "--max-pages", str(max_pages)] + (["--profile", str(profile)] if i < 0 else [])
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"bench.cycle failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if i < 0:
            print(f"  profiled cold run (not counted): {result['cold']['seconds']:.1f}s, profile in {profile}")
            continue
        results.append(result)
        print(f"  cold run {i + 1}/{runs}: {results[-1]['cold']['seconds']:.1f}s", flush=True)
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(quick: bool, out_dir: Path, profile: bool) -> dict[str, Any]:
    feeds, runs, warm, repeats, naive_feeds, floor_pages = (4, 1, 2, 2, 1, 20) if quick else (40, 3, 3, 3, 8, 110)
    corpus = workload.load_corpus()
    entries = workload.entries_for(corpus)
    articles = feeds * entries
    results: dict[str, Any] = {"quick": quick, "machine": machine(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "workload": {"feeds": feeds, "entries_per_feed": entries,
                                            "articles": articles, "latency_ms_naive": [0, LATENCY_S * 1000]}}
    results["workload"]["pages"] = corpus.source
    results["workload"]["distinct_pages"] = len(corpus.bodies)
    if corpus.source != "shared":
        print(f"NOTE: {corpus.source}; using the {len(corpus.bodies)} demo pages instead", flush=True)
    models = model_registry(out_dir / "models")
    with tempfile.TemporaryDirectory(prefix="aiwatch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"cold + warm cycle: {articles} articles, {runs} run(s) ...", flush=True)
        with workload.sites(feeds=feeds) as sites:
            cycles = cold_and_warm(sites, tmp, models, runs, warm, articles,
                                   out_dir / "cold_cycle_profile.txt" if profile else None)
            print("baseline A, naive loop at 0 ms ...", flush=True)
            urls = [f["url"] for f in sites.feeds[:naive_feeds]]
            naive_0 = [baselines.naive_loop(urls) for _ in range(repeats)]
        with workload.sites(feeds=naive_feeds, latency_s=LATENCY_S) as slow:
            print(f"baseline A, naive loop at {LATENCY_S * 1000:.0f} ms ...", flush=True)
            naive_50 = [baselines.naive_loop([f["url"] for f in slow.feeds]) for _ in range(repeats)]
        with workload.sites(feeds=feeds, latency_s=LATENCY_S) as slow:
            print(f"cold cycle at {LATENCY_S * 1000:.0f} ms ...", flush=True)
            (tmp / "slow").mkdir()
            cycles_50 = cold_and_warm(slow, tmp / "slow", models, 1, 0, articles, None)
        print("baseline B, extraction floor ...", flush=True)
        bodies = [corpus.bodies[workload.page_index(f, e, len(corpus.bodies))]
                  for f in range(feeds) for e in range(entries)]
        distinct = list(dict.fromkeys(bodies))[:floor_pages]
        floor = baselines.extraction_floor(distinct, repeats)
        print("airflow: dags test morocco_ai_watch ...", flush=True)
        with workload.sites(feeds=feeds) as sites:
            flow = airflow_cycle.run(tmp / "airflow-home", tmp, sites.write_feeds_file(tmp / "airflow-feeds.yaml"),
                                     f"sqlite:///{tmp / 'airflow-watch.db'}", models, tmp / "airflow-outbox.jsonl",
                                     articles)
    print("classifier: predict throughput on one core, 3 kB articles ...", flush=True)
    classifier = predict.run(quick=quick)
    print("grouping: reports placed against open events on one core ...", flush=True)
    grouped = grouping.run(quick=quick)

    cold_s = median([c["cold"]["seconds"] for c in cycles])
    cold_rate = articles / cold_s
    naive_0_rate = median([n["articles_per_s"] for n in naive_0])
    naive_50_rate = median([n["articles_per_s"] for n in naive_50])
    cold_50_s = median([c["cold"]["seconds"] for c in cycles_50])
    warm_s = median([w["seconds"] for c in cycles for w in c["warm"]])
    steps = {step: median([c["cold"]["steps"][step] for c in cycles]) for step in cycles[0]["cold"]["steps"]}
    results.update({
        "cold_articles_per_s": round(cold_rate, 2),
        "cold_cycle_s": round(cold_s, 2),
        "cold_articles_per_s_50ms": round(articles / cold_50_s, 2),
        "cold_steps_s": steps,
        "cold_counts": {k: v for k, v in cycles[0]["cold"].items() if k not in ("steps", "seconds")},
        "naive_articles_per_s_0ms": naive_0_rate,
        "naive_articles_per_s_50ms": naive_50_rate,
        "naive_articles_measured": naive_0[0]["articles"],
        "cold_vs_naive_0ms": round(cold_rate / naive_0_rate, 2),
        "cold_vs_naive_50ms": round((articles / cold_50_s) / naive_50_rate, 2),
        "extraction_floor_articles_per_s": floor["articles_per_s"],
        "extraction_floor": floor,
        "cold_vs_extraction_floor": round(cold_rate / floor["articles_per_s"], 2),
        "warm_cycle_s": round(warm_s, 3),
        "warm_steps_s": {s: median([w["steps"][s] for c in cycles for w in c["warm"]]) for s in steps},
        "warm_feeds_unchanged": cycles[0]["warm"][0]["feeds_unchanged"] if cycles[0]["warm"] else None,
        "peak_rss_mb": max(c["cold"]["peak_rss_mb"] for c in cycles),
        "workers_peak_rss_mb": max(c["cold"]["workers_peak_rss_mb"] for c in cycles),
        **flow,
        **classifier,
        **grouped,
        "runs": {"cold": runs, "warm": runs * warm, "naive": repeats, "floor": repeats},
    })
    return results


def report(results: dict[str, Any]) -> str:
    rows = [
        ("cold cycle (articles/s)", "cold_articles_per_s", None),
        ("cold cycle at 50 ms (articles/s)", "cold_articles_per_s_50ms", None),
        ("naive loop 0 ms (articles/s)", "naive_articles_per_s_0ms", None),
        ("naive loop 50 ms (articles/s)", "naive_articles_per_s_50ms", None),
        ("extraction floor (articles/s)", "extraction_floor_articles_per_s", None),
        ("cold / naive 0 ms", "cold_vs_naive_0ms", None),
        ("cold / naive 50 ms", "cold_vs_naive_50ms", ">="),
        ("cold / extraction floor", "cold_vs_extraction_floor", ">="),
        ("warm cycle, all 304 (s)", "warm_cycle_s", "<"),
        ("peak RSS, cycle process (MB)", "peak_rss_mb", "<"),
        ("peak RSS, extraction worker (MB)", "workers_peak_rss_mb", None),
        ("airflow dags test cycle (s)", "airflow_cycle_s", None),
        ("  share outside task bodies", "outside_tasks_share", None),
        ("predict, one core (docs/s)", "predict_docs_per_s", ">="),
        ("training (s)", "train_s", None),
        ("grouping resolve (s; 1,000 x 200, quick 250 x 50)", "grouping_resolve_s", "<"),
        ("grouping, plain all pairs (s)", "grouping_plain_all_pairs_s", None),
        ("grouping analyse (ms/report)", "grouping_analyse_ms_per_report", None),
    ]
    lines = [f"{'':36s} {'measured':>10s}  target", "-" * 60]
    for label, key, how in rows:
        value = results.get(key)
        target = ""
        if how and key in TARGETS:
            goal = TARGETS[key]
            met = value is not None and (value >= goal if how == ">=" else value < goal)
            target = f"{how} {goal:g}  {'ok' if met else 'MISSED'}"
        lines.append(f"{label:36s} {value!s:>10s}  {target}")
    steps = ", ".join(f"{k} {v:.2f}" for k, v in results.get("cold_steps_s", {}).items())
    lines.append(f"cold cycle steps (s): {steps}")
    m = results["machine"]
    lines.append(f"machine: {m.get('cpu')}, {m.get('cpus')} CPUs, {m.get('memory_gb')} GB, Python {m.get('python')}, "
                 f"{m.get('platform')}, load {m.get('load_average_at_start')}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer runs (about 2 minutes)")
    parser.add_argument("--out", default=os.environ.get("WATCH_BENCH_DIR", "var/bench"))
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of the first cold cycle")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = run(args.quick, out.resolve(), args.profile)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(report(results))
    path = out / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
