"""`make up`: one Ctrl-C stops airflow standalone and everything it started, with no orphan; the demo
refuses to run beside it. The supervised command here is a stand-in with standalone's shape: it
starts a component that ignores SIGINT (as a triggerer caught mid-shutdown would live on), and
stops itself, slowly, on one SIGINT, counting how many it got."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from aiwatch import demo, supervise
from aiwatch.cli import standalone_pid_file
from conftest import REPO

STANDIN = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    out = sys.argv[1]
    component = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"])
    open(out + ".component", "w").write(str(component.pid))
    got = []
    def on_int(signum, frame):
        got.append(signum)
        open(out + ".sigints", "w").write(str(len(got)))
    signal.signal(signal.SIGINT, on_int)
    while not got:
        time.sleep(0.05)
    time.sleep(0.5)  # stopping its components takes a moment; it forgets one of them
    sys.exit(0)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc to see processes")
def test_one_ctrl_c_stops_the_command_and_everything_it_started(tmp_path):
    out, pid_file = tmp_path / "standin", tmp_path / "standalone.pid"
    (tmp_path / "standin.py").write_text(STANDIN)
    code = (f"import sys; sys.path.insert(0, {str(REPO / 'plugins')!r})\n"
            "from aiwatch import supervise\n"
            f"raise SystemExit(supervise.run([sys.executable, {str(tmp_path / 'standin.py')!r}, {str(out)!r}], "
            f"pid_file=__import__('pathlib').Path({str(pid_file)!r})))")
    # The wrapper leads its own group, as a shell's foreground job does: Ctrl-C is SIGINT to that group.
    wrapper = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not Path(f"{out}.component").exists():
        time.sleep(0.05)
    component = int(Path(f"{out}.component").read_text())
    assert pid_file.read_text().strip() == str(wrapper.pid)
    os.killpg(wrapper.pid, signal.SIGINT)  # the terminal's Ctrl-C
    try:
        output, _ = wrapper.communicate(timeout=40)
    finally:
        wrapper.kill()
    leftover = _alive(component)
    if leftover:
        os.kill(component, signal.SIGKILL)
    assert wrapper.returncode == 0, output
    assert "Traceback" not in output and "stopping" in output
    assert Path(f"{out}.sigints").read_text() == "1", "the command must be asked to stop once, not twice"
    assert not leftover, "a component outlived make up"
    assert not pid_file.exists()


def test_a_stale_pid_file_is_not_a_running_standalone(tmp_path):
    pid_file = tmp_path / "standalone.pid"
    assert supervise.running(pid_file) is None
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid_file.write_text(done.stdout)
    assert supervise.running(pid_file) is None
    pid_file.write_text(f"{os.getpid()}\n")
    assert supervise.running(pid_file) == os.getpid()


def test_the_demo_refuses_to_run_beside_make_up(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    standalone_pid_file().write_text(f"{os.getpid()}\n")
    assert demo.main() == 3
    out = capsys.readouterr().out
    assert "not started: `make up` is running" in out and str(os.getpid()) in out


def test_make_up_demo_runs_with_the_demos_feeds_and_store(tmp_path, monkeypatch):
    """`make up DEMO=1` and `make demo` share one set of settings: the UI then shows what the demo ran."""
    from aiwatch.config import Settings, load_feeds
    from aiwatch.devserver import DevServer

    monkeypatch.delenv("WATCH_DB_URL", raising=False)
    monkeypatch.delenv("WATCH_OUTBOX_FILE", raising=False)
    with DevServer(REPO / "demo" / "site") as web:
        env = demo.environment(web, root=tmp_path)
    assert env["WATCH_DB_URL"] == f"sqlite:///{tmp_path / 'var' / 'demo' / 'watch.db'}"
    settings = Settings.from_env(env)
    assert [f.url.startswith(web.base_url) for f in load_feeds(settings.feeds_file)] == [True] * 3
    assert settings.allow_private_networks
