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


def environment(server: DevServer, root: Path | None = None) -> dict[str, str]:
    """The demo's settings (its feeds file pointing at ``server``, its own store and outbox), as the
    environment variables `make demo` and `make up DEMO=1` run with. Set-only-if-unset for the store
    and outbox, so a user can point the demo elsewhere."""
    demo_dir = (root or project_root()) / "var" / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    feeds_file = demo_dir / "feeds.yaml"
    feeds = [{"name": name, "url": server.url(f"/{name}/feed.xml"), "lang": lang} for name, lang in DEMO_FEEDS]
    feeds_file.write_text(yaml.safe_dump({"feeds": feeds}, allow_unicode=True), encoding="utf-8")
    return {"WATCH_FEEDS_FILE": str(feeds_file),
            "WATCH_DB_URL": os.environ.get("WATCH_DB_URL") or f"sqlite:///{demo_dir / 'watch.db'}",
            "WATCH_ALLOW_PRIVATE_NETWORKS": "1",
            "WATCH_OUTBOX_FILE": os.environ.get("WATCH_OUTBOX_FILE") or str(demo_dir / "outbox.jsonl")}


def demo_server() -> DevServer:
    return start_server(project_root() / "demo" / "site", int(os.environ.get("WATCH_DEMO_PORT", "8765")))


def main() -> int:
    from aiwatch import supervise
    from aiwatch.cli import run_dag, standalone_pid_file

    running = supervise.running(standalone_pid_file())
    if running is not None:
        print(f"not started: `make up` is running (process {running}) on this Airflow home; its scheduler would "
              "run morocco_ai_watch beside the demo with other settings, mixing both runs' numbers. Stop it "
              "with Ctrl-C first, or trigger morocco_ai_watch from its UI.")
        return 3
    server = demo_server()
    try:
        os.environ.update(environment(server))
        print(f"demo news web on {server.base_url} ({len(DEMO_FEEDS)} feeds); demo store {os.environ['WATCH_DB_URL']}")
        code = run_dag(Settings.from_env())
        print(f"\nrequests served: {sum(server.hits.values())}, of which 304: {sum(server.not_modified.values())}")
        print("see it in the operator's view: `make up DEMO=1` (the demo's store and feeds; `make up` alone shows "
              "the real feeds' store)")
        return code
    finally:
        server.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
