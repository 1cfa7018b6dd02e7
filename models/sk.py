"""scikit-learn pieces shared by the models: the column step every Pipeline starts with, client-grouped
folds for calibration, deterministic row caps, classification metrics and drivers by perturbation."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

RANDOM_STATE = 42


class MissingFeatures(ValueError):
    """The rows to score lack columns the model was trained with: the sources changed; retrain."""

    retryable = False


class FeatureColumns(TransformerMixin, BaseEstimator):
    """Selects the model's columns in training order; refuses rows that lack one (no patching)."""

    def __init__(self, columns: Sequence[str]):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None):
        self._check(X)
        self.feature_names_in_ = np.asarray(list(self.columns), dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check(X)
        return X.loc[:, list(self.columns)]

    def get_feature_names_out(self, input_features=None):
        return np.asarray(list(self.columns), dtype=object)

    def _check(self, X: pd.DataFrame) -> None:
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise MissingFeatures(
                f"{len(missing)} feature(s) the model was trained with are missing: {missing[:5]}...; "
                "the warehouse's sources changed since training: train the model again"
            )


def _key_hash(keys: pd.Index | pd.Series | np.ndarray) -> np.ndarray:
    return np.fromiter((zlib.crc32(str(k).encode("utf-8")) for k in keys), dtype=np.uint64, count=len(keys))


class GroupedFolds:
    """K folds that keep every row of a group (the first index level, e.g. a client) in one fold, so a
    calibrator never sees predictions for clients the model was trained on."""

    def __init__(self, n_splits: int = 2):
        self.n_splits = n_splits

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def split(self, X, y=None, groups=None):
        keys = X.index.get_level_values(0) if isinstance(X, pd.DataFrame) else np.arange(len(X))
        fold = _key_hash(keys) % np.uint64(self.n_splits)
        for k in range(self.n_splits):
            test = np.flatnonzero(fold == k)
            train = np.flatnonzero(fold != k)
            yield train, test


def with_values(X: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns that hold at least one value in X. A column missing in every training row tells a
    model nothing (a source whose records never reach the clients trained on), and gradient boosting
    cannot bin it; the model is trained, and scored, without it."""
    return [c for c in columns if c in X.columns and X[c].notna().any()]


MIN_TRAIN_ROWS = 100  # labelled rows a gradient-boosted model is trained on, at least
MIN_OUTCOME_ROWS = 10  # rows of each outcome, at least


def why_untrainable(
    X: pd.DataFrame, y: pd.Series, what: str, folds: GroupedFolds | None = None
) -> str | None:
    """None when a calibrated gradient-boosted model can be trained on (X, y); else why not, in words:
    too few rows, too few of one outcome, or a calibration fold whose training part lacks an outcome.
    `what` names a row ("client-snapshots", "lead-snapshots")."""
    y = pd.Series(np.asarray(y, dtype=int), index=X.index if len(X) == len(y) else None)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_TRAIN_ROWS:
        return f"{len(y)} labelled {what}, fewer than the {MIN_TRAIN_ROWS} the model is trained on"
    if min(positives, negatives) < MIN_OUTCOME_ROWS:
        return (
            f"{positives} positive and {negatives} negative labelled {what}: the model needs at least "
            f"{MIN_OUTCOME_ROWS} of each"
        )
    for train, _ in (folds or GroupedFolds(2)).split(X):
        if y.iloc[train].nunique() < 2:
            return f"the {what} of one calibration fold all have the same outcome"
    return None


def cap_rows(X: pd.DataFrame, y: pd.Series, max_rows: int | None) -> tuple[pd.DataFrame, pd.Series]:
    """At most about `max_rows` rows, keeping whole groups (first index level) chosen by a hash."""
    if not max_rows or len(X) <= max_rows:
        return X, y
    keys = X.index.get_level_values(0)
    share = max_rows / len(X)
    keep = (_key_hash(keys) % np.uint64(10_000)) < np.uint64(int(share * 10_000))
    return X.loc[keep], y.loc[keep]


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision) and Brier score; NaN where one class is missing."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    both = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))) if len(y) else float("nan"),
    }


def backtest_rows(
    model_name: str,
    as_of: date,
    horizon_days: int,
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    train_rows: int,
) -> list[dict]:
    """One ml.model_metrics row per method (the model and its baselines) for one backtest date."""
    y = np.asarray(y, dtype=int)
    return [
        {
            "model_name": model_name,
            "backtest_as_of_date": as_of,
            "horizon_days": horizon_days,
            "method": method,
            "is_baseline": method != "model",
            "rows_scored": len(y),
            "positives": int(y.sum()),
            "train_rows": train_rows,
            **classification_metrics(y, p),
        }
        for method, p in scores.items()
    ]


def group_contributions(
    model, X: pd.DataFrame, groups: Mapping[str, Sequence[str]], reference: pd.Series
) -> pd.DataFrame:
    """How much each group of features raises the predicted probability: p(x) minus p(x with the
    group set to the reference values of a typical row). One column per group, one row per row of X."""
    base = model.predict_proba(X)[:, 1]
    present = {g: [c for c in cols if c in X.columns] for g, cols in groups.items()}
    present = {g: cols for g, cols in present.items() if cols}
    if not present or X.empty:
        return pd.DataFrame(index=X.index)
    blocks = []
    for cols in present.values():
        Xg = X.copy()
        for c in cols:
            Xg[c] = reference[c]
        blocks.append(Xg)
    stacked = pd.concat(blocks, axis=0)
    p = model.predict_proba(stacked)[:, 1].reshape(len(present), len(X))
    return pd.DataFrame((base[None, :] - p).T, index=X.index, columns=list(present))
