"""`python -m bench [--quick]`: run the benchmarks, print them, write var/bench/<timestamp>.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from bench import predict


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
    except (OSError, ValueError):
        pass
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for the test suite")
    parser.add_argument("--out", default=os.environ.get("WATCH_BENCH_DIR", "var/bench"))
    args = parser.parse_args()
    results: dict[str, object] = {"quick": args.quick, "machine": machine(),
                                  "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    print("classifier: predict throughput on one core, 3 kB articles ...", flush=True)
    classifier = predict.run(quick=args.quick)
    results.update(classifier)
    for key, value in classifier.items():
        print(f"  {key:32s} {value}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
