"""BG/NBD ("buy till you die", Fader, Hardie and Lee 2005), fitted by maximum likelihood with scipy.

Each customer buys as a Poisson process with a gamma-distributed rate (r, alpha) and, after each
purchase, drops out for good with a beta-distributed probability (a, b). From a customer's
repeat purchases x, the time of the last one t_x and the age T (all in weeks, measured from the
first purchase) it gives the probability the customer is still alive, the probability of no
purchase in the next tau weeks, and the expected number of purchases in them.

Used as the classical churn baseline (P(no purchase in the horizon)) and for the expected value
of segments. A purchase is a day with at least one invoice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from models.data import Frames, day_number

DAYS_PER_PERIOD = 7.0
MIN_CUSTOMERS = 5  # fewer customers than this give no usable fit


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


def rfm_summary(frames: Frames, as_of, clients: pd.Index | None = None) -> pd.DataFrame:
    """x (repeat purchase days), t_x and T in weeks, per client invoiced before `as_of` (frames cut there)."""
    t = float(day_number(as_of))
    inv = frames.invoices[["client_id", "day"]].drop_duplicates()
    g = inv.groupby("client_id")["day"]
    out = pd.DataFrame({"first": g.min(), "last": g.max(), "n": g.size()})
    out = pd.DataFrame(
        {
            "x": (out["n"] - 1).astype(float),
            "t_x": (out["last"] - out["first"]) / DAYS_PER_PERIOD,
            "T": (t - out["first"]) / DAYS_PER_PERIOD,
        }
    )
    if clients is not None:
        out = out.reindex(clients)
    return out


def _log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    r, alpha, a, b = np.exp(params)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a1 = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        a2 = np.where(
            x > 0,
            special.betaln(a + 1, b + np.maximum(x, 1) - 1)
            - special.betaln(a, b)
            - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(common + np.logaddexp(a1, a2)))


def fit(summary: pd.DataFrame, penalty: float = 1e-3) -> BgNbdParams:
    """Maximum-likelihood parameters (with a small ridge on the log-parameters for stability)."""
    s = summary.dropna()
    x, t_x, T = (s[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    if len(x) < MIN_CUSTOMERS:
        raise ValueError(f"BG/NBD needs at least {MIN_CUSTOMERS} customers, got {len(x)}")

    def objective(p: np.ndarray) -> float:
        return -_log_likelihood(p, x, t_x, T) / len(x) + penalty * float(np.sum(p**2))

    start = np.log([1.0, max(float(np.mean(T)), 1.0), 1.0, 3.0])
    res = optimize.minimize(objective, start, method="L-BFGS-B", bounds=[(-8, 8)] * 4)
    r, alpha, a, b = np.exp(res.x)
    return BgNbdParams(float(r), float(alpha), float(a), float(b))


def p_alive(p: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        ratio = np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + t_x)))
        odds = np.where(x > 0, p.a / (p.b + np.maximum(x, 1) - 1) * ratio, 0.0)
    return 1.0 / (1.0 + odds)


def prob_no_purchase(p: BgNbdParams, x, t_x, T, tau: float) -> np.ndarray:
    """P(no purchase in (T, T + tau]): dead, or alive and the Poisson draw is zero."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    alive = p_alive(p, x, t_x, T)
    quiet_if_alive = np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + T + tau)))
    return (1.0 - alive) + alive * quiet_if_alive


def expected_purchases(p: BgNbdParams, x, t_x, T, tau: float) -> np.ndarray:
    """E[purchases in (T, T + tau] | x, t_x, T]."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = tau / (p.alpha + T + tau)
    hyp = special.hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z)
    first = (p.a + p.b + x - 1) / (p.a - 1) if p.a > 1 else np.full_like(x, np.nan)
    term = 1.0 - np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + T + tau))) * hyp
    with np.errstate(over="ignore"):
        ratio = np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + t_x)))
        denom = 1.0 + np.where(x > 0, p.a / (p.b + np.maximum(x, 1) - 1) * ratio, 0.0)
    out = first * term / denom
    # a <= 1 (dropout nearly certain after purchases) has no finite mean formula: fall back to rate x tau
    fallback = (p.r + x) / (p.alpha + T) * tau * p_alive(p, x, t_x, T)
    return np.where(np.isfinite(out) & (out >= 0), out, fallback)


SHRINK_PURCHASES = 3.0  # a client's spend per purchase day is shrunk towards everyone's by this many days


def spend_per_purchase_day(frames: Frames, clients: pd.Index) -> pd.Series:
    """Each client's mean invoiced amount per purchase day, shrunk towards everyone's mean by
    SHRINK_PURCHASES days (a client seen once is not taken at its word); everyone's mean for clients
    without invoices."""
    per_day = frames.invoices.groupby(["client_id", "day"])["amount_rub"].sum()
    overall = float(per_day.mean()) if len(per_day) else 0.0
    by_client = per_day.groupby("client_id")
    mean, n = by_client.mean().reindex(clients), by_client.size().reindex(clients).fillna(0)
    return ((mean.fillna(overall) * n + overall * SHRINK_PURCHASES) / (n + SHRINK_PURCHASES)).rename("spend")
