"""Child processes that never outlive the process that started them.

The cycle forks helpers (extraction workers, a feed parser with a deadline). If the cycle is killed
with SIGKILL, or Airflow kills its task, nothing runs our cleanup, and a forked child would live on
under PID 1, holding memory and the store's files. Two independent mechanisms prevent that: the
kernel's parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG)``), and a watchdog thread that exits
the child as soon as its parent's pid changes (every platform, and the case where the parent died
before the signal could be armed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
#: How often the watchdog looks at the parent's pid (seconds).
WATCHDOG_INTERVAL_S = 1.0


def _arm_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int | None = None, *, watchdog: bool = True) -> None:
    """Make the calling (child) process die when its parent does.

    ``parent_pid``: the pid the child was started by (default: the current parent). If the parent is
    already gone (we were re-parented before arming), exit at once.
    """
    expected = parent_pid if parent_pid is not None else os.getppid()
    _arm_parent_death_signal()
    if os.getppid() != expected:
        os._exit(1)
    if watchdog:
        thread = threading.Thread(target=_watch, args=(expected,), name="parent-watchdog", daemon=True)
        thread.start()


def _watch(parent_pid: int) -> None:
    event = threading.Event()
    while not event.wait(WATCHDOG_INTERVAL_S):
        if os.getppid() != parent_pid:
            os._exit(1)


def worker_initializer(parent_pid: int) -> None:
    """``ProcessPoolExecutor(initializer=...)`` for workers that die with the cycle; the workers
    ignore SIGINT so a Ctrl-C reaches the parent, which shuts the pool down in order, and take back
    the default SIGTERM (a forked worker inherits its parent's Python handler, Airflow's for one, which
    would make a SIGTERM to the process group a no-op in the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent_pid)


class StopRequested(Exception):
    """The process was asked to stop (SIGTERM) while a long step ran; what is done so far is kept."""


@contextmanager
def stop_on_sigterm() -> Iterator[threading.Event]:
    """An event set when SIGTERM arrives while the block runs, for loops that should stop early.

    A host that handles SIGTERM itself without stopping us (Airflow's task runner only calls the
    operator's ``on_kill`` and waits for its supervisor's SIGKILL) would let a killed fetch step go on
    downloading every queued page. Such a handler is chained, never replaced. With the default
    disposition the signal still ends the process at once (the workers die with it), so nothing is
    installed then; nor off the main thread, where Python cannot install handlers.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        stop.set()
        previous(signum, frame)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)
