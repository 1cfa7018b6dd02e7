"""What a resolution build can reuse from the last one: the Splink model, or the whole result.

Training the Splink model is most of the cost of a resolution (about 5 s of 7.5 at scale 0.1, and a
minute or more at scale 1), while a day of new exports adds a handful of records. So:

- **The model is retrained only when it is due**: there is no saved model, the model's settings
  (comparisons, blocking, seed, training parameters) changed, the number of records moved by more than
  `retrain_growth` (default 10%) since it was trained, or a retrain is asked for. Otherwise the saved
  model is applied (scoring candidate pairs only). A full refresh of the warehouse does not retrain:
  the model is state, like the ids, so that a full refresh gives the same clients as the incremental
  builds before it. What the model was trained on is written next to it (`<model>.info.json`).
- **Only the pairs that can have changed are scored again**: the pairs the last resolution scored
  are kept next to the model (`<model>.pairs.pkl`, see `linkage.PairCache`); applying the same model,
  the pairs of records that did not change keep their scores (`link_records`).
- **The resolution is skipped when nothing it reads changed**: the records, the override file, the
  configuration, the model and the resolution code itself are fingerprinted; the fingerprint is kept
  in the resolved table, and a build whose fingerprint matches the table's keeps the table as it is
  (same ids, same build id, so the id history gets nothing new).

`resolve` with the same records, previous ids, overrides, configuration and model gives the same
result, so both shortcuts leave the result exactly what a resolution from scratch with that model
gives.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from resolution.linkage import LinkageConfig, PairCache

log = logging.getLogger(__name__)

RESOLUTION_CODE = Path(__file__).resolve().parent
INFO_SUFFIX = ".info.json"


@dataclass(frozen=True)
class ModelInfo:
    """What a saved Splink model was trained on."""

    settings_hash: str  # the untrained settings and training parameters (see settings_hash)
    records: int  # how many records it was trained on
    trained_at: str

    @classmethod
    def read(cls, model_path: Path) -> ModelInfo | None:
        path = info_path(model_path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(str(data["settings_hash"]), int(data["records"]), str(data["trained_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, model_path: Path) -> Path:
        path = info_path(model_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)
        return path


def info_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + INFO_SUFFIX)


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def settings_hash(config: LinkageConfig) -> str:
    """The model's definition (linkage.py: comparisons, blocking, training), its parameters and the
    Splink version: a saved model trained under another hash is not this model. (Read from the source
    rather than from Splink's settings object, so that a build that keeps everything does not pay for
    importing Splink.)"""
    try:
        splink_version = version("splink")
    except PackageNotFoundError:  # pragma: no cover - splink is a dependency
        splink_version = "unknown"
    return _digest(
        (RESOLUTION_CODE / "linkage.py").read_bytes(),
        json.dumps(asdict(config), sort_keys=True),
        splink_version,
    )


def frame_hash(frame: pd.DataFrame | None, key: str | None = None) -> str:
    """A content hash of a DataFrame that does not depend on its row order (sorted by `key`, else by
    every column) nor on its index."""
    if frame is None:
        return "none"
    ordered = frame.sort_values(key or list(frame.columns), kind="stable") if len(frame) else frame
    rows = pd.util.hash_pandas_object(ordered.reset_index(drop=True), index=False).to_numpy()
    return _digest(
        json.dumps([str(c) for c in frame.columns]),
        json.dumps([str(t) for t in frame.dtypes]),
        rows.tobytes(),
    )


def code_hash() -> str:
    """The resolution's own source: a changed normalisation or clustering rule re-resolves."""
    return _digest(*(p.read_bytes() for p in sorted(RESOLUTION_CODE.glob("*.py"))))


def inputs_fingerprint(
    records: pd.DataFrame,
    overrides: pd.DataFrame | None,
    config: Any,
    model: dict[str, Any] | None,
) -> str:
    """Everything a resolution result depends on, but the previous ids (which it keeps)."""
    return _digest(
        frame_hash(records, "record_key"),
        frame_hash(overrides),
        repr(_plain(config)),
        json.dumps(_without_uid(model), sort_keys=True, default=str) if model is not None else "train",
        code_hash(),
    )


def _without_uid(model: dict[str, Any]) -> dict[str, Any]:
    """The model without the random id Splink gives every linker it saves from."""
    return {k: v for k, v in model.items() if k != "linker_uid"}


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(v) for k, v in sorted(asdict(value).items())}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value


def training_due(
    info: ModelInfo | None,
    model_exists: bool,
    n_records: int,
    config: LinkageConfig,
    retrain_growth: float = 0.1,
    retrain: bool = False,
) -> str | None:
    """Why the Splink model must be trained now, or None when the saved one is to be applied."""
    if retrain:
        return "retrain asked for"
    if not model_exists or info is None:
        return "no saved model"
    if info.settings_hash != settings_hash(config):
        return "the model's settings changed"
    base = max(info.records, 1)
    if abs(n_records - info.records) / base > retrain_growth:
        return f"records moved from {info.records} to {n_records} (more than {retrain_growth:.0%})"
    return None


def load_model(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def new_info(config: LinkageConfig, n_records: int) -> ModelInfo:
    return ModelInfo(settings_hash(config), n_records, datetime.now().replace(microsecond=0).isoformat())


def pair_cache_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.stem + ".pairs.pkl")


def load_pair_cache(model_path: Path) -> PairCache | None:
    """The pairs the last resolution scored, or None (none, unreadable, or not a PairCache)."""
    try:
        cache = pd.read_pickle(pair_cache_path(model_path))
    except Exception:  # noqa: BLE001 - a cache that cannot be read is no cache
        return None
    return cache if isinstance(cache, PairCache) else None


def save_pair_cache(cache: PairCache | None, model_path: Path) -> None:
    path = pair_cache_path(model_path)
    if cache is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    pd.to_pickle(cache, tmp)
    tmp.replace(path)
