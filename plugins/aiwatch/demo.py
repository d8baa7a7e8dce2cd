"""`make demo`: one real DAG cycle against the bundled offline news web (demo/site).

Starts the local server (loopback, port WATCH_DEMO_PORT, default 8765, so article URLs stay the
same between demo runs and a second run shows the 304 path), writes a feeds file pointing at it,
runs the morocco_ai_watch DAG with the private-network guard opened for loopback only in this
process's environment, prints the summary, and stops the server.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import yaml

from aiwatch.config import Settings, project_root
from aiwatch.devserver import DevServer

log = logging.getLogger(__name__)

DEMO_FEEDS = [("atlas-tech", "fr"), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]


def start_server(site: Path, port: int) -> DevServer:
    try:
        return DevServer(site, port=port).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"port {port} is busy; using a free port (articles will look new to the demo store)")
        return DevServer(site).start()


def main() -> int:
    from aiwatch.cli import run_dag

    root = project_root()
    site = root / "demo" / "site"
    demo_dir = root / "var" / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    server = start_server(site, int(os.environ.get("WATCH_DEMO_PORT", "8765")))
    try:
        feeds_file = demo_dir / "feeds.yaml"
        feeds = [{"name": name, "url": server.url(f"/{name}/feed.xml"), "lang": lang} for name, lang in DEMO_FEEDS]
        feeds_file.write_text(yaml.safe_dump({"feeds": feeds}, allow_unicode=True), encoding="utf-8")
        os.environ["WATCH_FEEDS_FILE"] = str(feeds_file)
        os.environ.setdefault("WATCH_DB_URL", f"sqlite:///{demo_dir / 'watch.db'}")
        os.environ["WATCH_ALLOW_PRIVATE_NETWORKS"] = "1"
        os.environ.setdefault("WATCH_OUTBOX_FILE", str(demo_dir / "outbox.jsonl"))
        print(f"demo news web on {server.base_url} ({len(feeds)} feeds); demo store {os.environ['WATCH_DB_URL']}")
        code = run_dag(Settings.from_env())
        print(f"\nrequests served: {sum(server.hits.values())}, of which 304: {sum(server.not_modified.values())}")
        return code
    finally:
        server.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
