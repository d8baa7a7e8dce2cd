"""Make `.venv/bin/airflow` find this checkout's Airflow home without any shell set-up.

`make` installs a one-line ``.pth`` file into the virtualenv: when ``AIRFLOW_HOME`` is unset,
Python processes of this venv default it to ``<repo>/var/airflow`` and point Airflow at the
repo's ``dags/`` and ``plugins/``. Anything the caller sets explicitly wins.
"""

from __future__ import annotations

import argparse
import site
import sys
from pathlib import Path

PTH_NAME = "aiwatch_airflow_home.pth"


def pth_line(root: Path) -> str:
    defaults = {
        "AIRFLOW_HOME": f"{root}/var/airflow",
        "AIRFLOW__CORE__DAGS_FOLDER": f"{root}/dags",
        "AIRFLOW__CORE__PLUGINS_FOLDER": f"{root}/plugins",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    body = "; ".join(f"e.setdefault({k!r}, {v!r})" for k, v in defaults.items())
    return f"import os; e = os.environ; ('AIRFLOW_HOME' in e) or ({body.replace('; ', ', ')}); del e\n"


def install(root: Path) -> Path:
    target = Path(site.getsitepackages()[0]) / PTH_NAME
    target.write_text(pth_line(root))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--install", action="store_true", help="write the .pth file into this venv")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[2]
    if args.install:
        print(f"venv default AIRFLOW_HOME -> {root}/var/airflow ({install(root)})")
    else:
        sys.stdout.write(pth_line(root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
