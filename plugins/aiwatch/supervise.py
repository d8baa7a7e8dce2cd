"""Run a long-lived command (``airflow standalone``) so that one Ctrl-C stops all of it, cleanly.

A terminal's Ctrl-C sends SIGINT to every process of the foreground group at once: ``airflow
standalone`` and each component it started (scheduler, triggerer, api-server, dag-processor) are
interrupted together, standalone dies mid-shutdown with a traceback, and a component it no longer
supervises lives on. So the command runs in its own session, out of the terminal's reach; our
process takes the Ctrl-C and asks the command alone to stop (one SIGINT, which standalone handles
by stopping its components in order), waits, and then ends whatever is left of the command's
process group: nothing outlives ``make up``. A second Ctrl-C kills the group at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: How long the command may take to stop after the first Ctrl-C, and its leftovers after SIGTERM.
STOP_TIMEOUT_S = 60.0
LEFTOVER_TIMEOUT_S = 10.0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(process: subprocess.Popen, pgid: int, timeout_s: float) -> None:
    """Wait for the leader and, with SIGTERM then SIGKILL, for the rest of its group."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        process.poll()
        if process.returncode is not None and not _group_alive(pgid):
            return
        time.sleep(0.2)
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + LEFTOVER_TIMEOUT_S
    while time.monotonic() < deadline and _group_alive(pgid):
        process.poll()
        time.sleep(0.2)
    _signal_group(pgid, signal.SIGKILL)
    process.wait()


def stop(process: subprocess.Popen, *, timeout_s: float = STOP_TIMEOUT_S) -> int:
    """Ask the command to stop (one SIGINT to it alone), then end what is left of its group."""
    pgid = process.pid  # start_new_session: the leader's pid is the group's id
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=timeout_s)
        _reap(process, pgid, LEFTOVER_TIMEOUT_S)  # components the command left behind
    except subprocess.TimeoutExpired:
        print(f"still running after {timeout_s:.0f}s; terminating every process it started", flush=True)
        _reap(process, pgid, 0)
    except KeyboardInterrupt:
        print("second Ctrl-C: killing every process it started", flush=True)
        _signal_group(pgid, signal.SIGKILL)
        process.wait()
    return 0 if process.returncode in (0, -signal.SIGINT, -signal.SIGTERM, 130, 143) else process.returncode


def run(command: Sequence[str], *, pid_file: Path | None = None,
        on_started: Callable[[subprocess.Popen], None] | None = None,
        timeout_s: float = STOP_TIMEOUT_S, env: dict[str, str] | None = None) -> int:
    """Run ``command`` until it exits or Ctrl-C; ``pid_file`` holds our pid meanwhile (see :func:`running`)."""
    process = subprocess.Popen(list(command), start_new_session=True, env=env)
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        try:
            if on_started is not None:
                on_started(process)
            code = process.wait()
            _reap(process, process.pid, LEFTOVER_TIMEOUT_S)
            return code
        except KeyboardInterrupt:
            print("\nstopping (Ctrl-C again to kill at once) ...", flush=True)
            return stop(process, timeout_s=timeout_s)
    finally:
        if process.poll() is None or _group_alive(process.pid):
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        if pid_file is not None:
            try:
                if pid_file.read_text(encoding="utf-8").strip() == str(os.getpid()):
                    pid_file.unlink()
            except OSError:
                pass


def running(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` if that process is still alive (a stale file is ignored)."""
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
