"""The model registry: versioned directories of skops files and metadata, and which one is live.

``WATCH_MODEL_DIR`` (default ``var/models``) holds ``v0001/``, ``v0002/``, ... each with
``model.skops`` (never pickle), ``meta.json`` (version, created-at, training-data hash and counts,
scikit-learn version, threshold, cross-validated metrics, the model file's SHA-256) and the
training report; ``LIVE`` names the version the pipeline uses. Loading refuses, with a message
saying what to do, a file whose checksum does not match, a model trained with another
scikit-learn, and any file holding types outside our allow-list (skops' protection against
code execution from untrusted files).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sklearn
import skops
import skops.io as sio

from classifiers.model import PartnershipModel

MODEL_FILE = "model.skops"
META_FILE = "meta.json"
REPORT_FILE = "report.json"
LIVE_FILE = "LIVE"
_VERSION_RE = re.compile(r"^v(\d{4,})$")

#: Types our model files may contain beyond what skops trusts by default (scikit-learn, numpy, scipy).
TRUSTED_TYPES = frozenset({
    "classifiers.features.CueFeatures", "classifiers.features.Field", "classifiers.features.TextPrep",
    "classifiers.features.title_char_ngrams", "classifiers.features.word_unigrams_bigrams",
    "classifiers.model.PartnershipModel", "classifiers.tfidf.LeanTfidf",
})


class ModelError(RuntimeError):
    """A model cannot be used; the message says which file and what to do."""


def registry_dir(environ: dict[str, str] | None = None) -> Path:
    """WATCH_MODEL_DIR, else <WATCH_DATA_DIR or var>/models: the default is the pipeline's own setting."""
    from aiwatch.config import Settings

    return Settings.from_env(environ).models


@dataclass(frozen=True)
class Version:
    name: str
    path: Path
    meta: dict[str, Any]
    live: bool


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def save(model: PartnershipModel, report: dict[str, Any], meta: dict[str, Any], root: Path | None = None) -> Version:
    """Write a new version (never overwrites one); returns it (not yet live)."""
    root = root or registry_dir()
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := _VERSION_RE.match(p.name))]
    for number in range(max(numbers, default=0) + 1, max(numbers, default=0) + 100):
        name = f"v{number:04d}"
        try:
            (root / name).mkdir()
            break
        except FileExistsError:  # another trainer took this number a moment ago
            continue
    else:  # pragma: no cover
        raise ModelError(f"could not allocate a version directory in {root}")
    path = root / name
    sio.dump(model, path / MODEL_FILE)
    meta = {
        **meta, "version": name, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sklearn_version": sklearn.__version__, "skops_version": skops.__version__,
        "threshold": model.threshold, "model_sha256": _sha256(path / MODEL_FILE),
    }
    _atomic_write(path / REPORT_FILE, json.dumps(report, indent=2, ensure_ascii=False))
    _atomic_write(path / META_FILE, json.dumps(meta, indent=2, ensure_ascii=False))
    return Version(name, path, meta, live=False)


def load(path: Path | str) -> tuple[PartnershipModel, dict[str, Any]]:
    """Load a version directory (or a model.skops file beside its meta.json), checking everything."""
    path = Path(path)
    directory = path if path.is_dir() else path.parent
    model_file, meta_file = directory / MODEL_FILE, directory / META_FILE
    if not model_file.is_file():
        raise ModelError(f"no model file at {model_file}")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta_file} is missing or unreadable ({exc}); the model cannot be verified") from None
    if meta.get("model_sha256") != _sha256(model_file):
        raise ModelError(f"{model_file} does not match the checksum in {meta_file}: the file is corrupt or was "
                         "replaced; retrain with `python -m classifiers train`")
    if meta.get("sklearn_version") != sklearn.__version__:
        raise ModelError(f"{model_file} was trained with scikit-learn {meta.get('sklearn_version')} but this is "
                         f"{sklearn.__version__}; retrain it with `python -m classifiers train`")
    try:
        untrusted = set(sio.get_untrusted_types(file=model_file))
    except Exception as exc:
        raise ModelError(f"{model_file} is not a readable skops file: {exc}") from None
    unexpected = untrusted - TRUSTED_TYPES
    if unexpected:
        raise ModelError(f"{model_file} contains types outside the allow-list, refusing to load it: "
                         f"{', '.join(sorted(unexpected))}")
    try:
        model = sio.load(model_file, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelError(f"{model_file} could not be loaded: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, PartnershipModel):
        raise ModelError(f"{model_file} holds a {type(model).__name__}, not a PartnershipModel")
    return model, meta


def versions(root: Path | None = None) -> list[Version]:
    root = root or registry_dir()
    if not root.is_dir():
        return []
    live = live_name(root)
    out = []
    for path in sorted(p for p in root.iterdir() if _VERSION_RE.match(p.name) and (p / META_FILE).is_file()):
        try:
            meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            meta = {"error": "unreadable meta.json"}
        out.append(Version(path.name, path, meta, live=path.name == live))
    return out


def live_name(root: Path | None = None) -> str | None:
    root = root or registry_dir()
    try:
        name = (root / LIVE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def promote(name: str, root: Path | None = None) -> Version:
    """Make a version live; it is loaded (and so verified) first."""
    root = root or registry_dir()
    if not _VERSION_RE.match(name) or not (root / name).is_dir():
        known = ", ".join(v.name for v in versions(root)) or "none"
        raise ModelError(f"no version {name!r} in {root} (known: {known})")
    _, meta = load(root / name)
    _atomic_write(root / LIVE_FILE, name + "\n")
    return Version(name, root / name, meta, live=True)


def load_live(root: Path | None = None) -> tuple[PartnershipModel, dict[str, Any]]:
    root = root or registry_dir()
    name = live_name(root)
    if name is None:
        raise ModelError(f"no live model in {root}; train one with `python -m classifiers train`")
    return load(root / name)
