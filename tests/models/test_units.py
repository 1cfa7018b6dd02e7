"""Unit and property tests of the model pieces that need no warehouse: BG/NBD, the label and split
rules, the never-offer-sales rule of next best action, the sklearn helpers, the ml schema and the
forecast's pieces (the total's seasonal profile, the combination with seasonal naive, intervals)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import bgnbd, churn, forecast, labels, nba, rules
from models.data import Frames, _encode, _placeholder, add_months, day_number
from models.features import SUFFIX
from models.schema import TABLES, ensure_ml_schema, replace_rows
from models.sk import FeatureColumns, GroupedFolds, MissingFeatures


# ------------------------------------------------------------------ BG/NBD
def _simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(30, 80, n)
    xs, txs = [], []
    for i in range(n):
        t = tx = 0.0
        x = 0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x, tx = x + 1, t
            if rng.random() < p[i]:
                break
        xs.append(x)
        txs.append(tx)
    return pd.DataFrame({"x": xs, "t_x": txs, "T": T})


def test_bgnbd_recovers_the_parameters_it_was_simulated_with():
    params = bgnbd.fit(_simulate_bgnbd(4000, r=0.5, alpha=4.0, a=0.8, b=2.5))
    assert params.r == pytest.approx(0.5, rel=0.2)
    assert params.alpha == pytest.approx(4.0, rel=0.25)
    assert params.a == pytest.approx(0.8, rel=0.3)
    assert params.b == pytest.approx(2.5, rel=0.35)


def test_bgnbd_quiet_customers_are_likelier_to_buy_nothing():
    p = bgnbd.BgNbdParams(r=0.5, alpha=4.0, a=0.8, b=2.5)
    frequent_recent = bgnbd.prob_no_purchase(p, np.array([10.0]), np.array([49.0]), np.array([50.0]), 26)
    frequent_silent = bgnbd.prob_no_purchase(p, np.array([10.0]), np.array([10.0]), np.array([50.0]), 26)
    assert 0 <= frequent_recent[0] < frequent_silent[0] <= 1
    assert bgnbd.expected_purchases(p, np.array([10.0]), np.array([49.0]), np.array([50.0]), 26)[0] > 1


# ------------------------------------------------------------------ labels and the split
def _frames_with_invoices(days: list[date], client: str | list[str] = "CL-1") -> Frames:
    out = {name: _placeholder(name) for name in ("invoices", "payments", "credit_notes", "interactions", "web",
                                                 "tickets", "deals", "owners", "managers", "clients", "leads")}  # fmt: skip
    out["invoices"] = pd.DataFrame(
        {
            "client_id": client if isinstance(client, list) else [client] * len(days),
            "invoice_id": [f"INV-{i}" for i in range(len(days))],
            "legal_entity_id": "LE-1",
            "office_code": "MSK",
            "product_line": "cloud",
            "deal_id": None,
            "day": [float(day_number(d)) for d in days],
            "due_day": [float(day_number(d) + 30) for d in days],
            "amount_rub": 1000.0,
            "amount_with_vat_rub": 1200.0,
        }
    )
    return _encode(out)


def test_training_dates_have_their_label_window_closed_by_the_cutoff():
    frames = _frames_with_invoices([date(2023, 10, 2) + timedelta(days=30 * k) for k in range(36)])
    until = date(2026, 10, 1)
    dates = labels.training_dates(frames, until, 180)
    assert dates and all(t + timedelta(days=180) <= until for t in dates)
    assert dates[0] >= date(2024, 4, 1)  # six months of history first


def test_backtest_dates_are_quarter_starts_whose_horizon_is_over():
    frames = _frames_with_invoices([date(2023, 10, 2) + timedelta(days=30 * k) for k in range(36)])
    as_of = date(2026, 10, 1)
    dates = labels.backtest_dates(frames, as_of, 180)
    assert len(dates) == 4
    assert all(d.day == 1 and d.month in (1, 4, 7, 10) for d in dates)
    assert all(d + timedelta(days=180) <= as_of for d in dates)


def test_a_short_history_trains_on_a_shorter_horizon_and_says_so():
    # nine months of invoices, a 273-day horizon asked: no snapshot could be labelled with it
    frames = _frames_with_invoices([date(2026, 1, 5) + timedelta(days=9 * k) for k in range(30)])
    as_of = date(2026, 10, 1)
    plan = labels.label_plan(frames, as_of, 273)
    assert plan.is_shortened and plan.asked_days == 273
    assert plan.horizon_days == 180  # the longest shorter horizon that labels three snapshots
    assert len(plan.dates) >= labels.MIN_TRAINING_SNAPSHOTS
    assert all(t + timedelta(days=plan.horizon_days) <= as_of for t in plan.dates)
    assert "273-day churn horizon asked" in plan.describe("churn")
    # three years of history keep the horizon asked, with six months behind every snapshot
    long = _frames_with_invoices([date(2023, 10, 2) + timedelta(days=30 * k) for k in range(36)])
    plan = labels.label_plan(long, as_of, 180)
    assert not plan.is_shortened and plan.min_history_months == 6 and plan.describe("churn") is None
    assert list(plan.dates) == labels.training_dates(long, as_of, 180)


def test_the_recency_baseline_learns_how_long_quiet_gaps_last():
    """Gaps between purchase days of 30 days, ending in a purchase: a client quiet for 20 days is
    likely to buy in the next 30, one quiet for 60 (longer than any gap that ended) is not."""
    days = [date(2025, 1, 1) + timedelta(days=30 * k) for k in range(10)]
    frames = _frames_with_invoices(sorted(days + days), ["CL-1", "CL-2"] * 10)
    times, survival = churn.gap_survival(frames, date(2025, 10, 10))  # open gaps of 12 days
    assert times.tolist() == [30.0] and survival[0] == 0.0
    p = churn.recency_no_purchase(times, survival, np.array([20.0, 60.0]), 30)
    assert p.tolist() == [0.0, 1.0]
    # nobody bought twice: nothing to learn from
    assert len(churn.gap_survival(_frames_with_invoices([date(2025, 1, 1)]), date(2025, 6, 1))[0]) == 0


def test_a_label_reaching_past_the_run_date_is_refused():
    frames = _frames_with_invoices([date(2025, 1, 10)])
    with pytest.raises(labels.LabelNotKnown):
        labels.churn_labels(frames, date(2026, 6, 1), 180, pd.Index(["CL-1"]), known_until=date(2026, 10, 1))


def test_churn_label_is_one_when_nothing_is_invoiced_in_the_horizon():
    frames = _frames_with_invoices([date(2025, 1, 10), date(2025, 8, 1)])
    pop = labels.churn_population(frames, date(2025, 3, 1))
    assert list(pop) == ["CL-1"]
    assert labels.churn_labels(frames, date(2025, 3, 1), 180, pop, None).tolist() == [0]
    assert labels.churn_labels(frames, date(2025, 3, 1), 90, pop, None).tolist() == [1]


# ------------------------------------------------------------------ next best action: never offer when blocked
def _client_frame(rows: list[dict]) -> pd.DataFrame:
    cols = ("open_critical_tickets", "open_high_priority_tickets", "oldest_open_ticket_days", "max_days_past_due",
            "overdue_amount_rub", "revenue_365d_rub")  # fmt: skip
    df = pd.DataFrame(rows, index=pd.Index([f"CL-{i}" for i in range(len(rows))], name="client_id"))
    return df.reindex(columns=list(cols), fill_value=0.0).rename(columns=lambda c: c + SUFFIX)


def _blocks(rows: list[dict], index: pd.Index) -> pd.DataFrame:
    """What rules.offer_blocks gives: the inputs of the rule and its verdict, per client."""
    blocks = pd.DataFrame(
        {
            "blocking_tickets": [r["blocking_tickets"] for r in rows],
            "blocking_overdue_amount_rub": [r["blocking_overdue_amount_rub"] for r in rows],
            "blocking_max_days_past_due": [r["blocking_max_days_past_due"] for r in rows],
        },
        index=index,
    )
    blocks["sales_offer_blocked_reason"] = rules.blocked_reason(
        blocks["blocking_tickets"], blocks["blocking_overdue_amount_rub"], rules.rules_from_seed()
    )
    return blocks


client_rows = st.lists(
    st.fixed_dictionaries(
        {
            "open_critical_tickets": st.sampled_from([0.0, 0.0, 1.0]),
            "blocking_tickets": st.sampled_from([0, 0, 1, 2]),
            "blocking_overdue_amount_rub": st.sampled_from([0.0, 500.0, 49_999.0, 50_000.0, 2e6]),
            "blocking_max_days_past_due": st.sampled_from([0, 30, 45, 170]),
        }
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(rows=client_rows, risk=st.lists(st.sampled_from(["low", "medium", "high"]), min_size=30, max_size=30))
def test_a_client_the_offer_block_rule_blocks_never_gets_a_sales_offer(rows, risk):
    X = _client_frame(rows)
    blocks = _blocks(rows, X.index)
    churn = pd.DataFrame(
        {
            "client_id": X.index,
            "risk_band": risk[: len(X)],
            "churn_probability": 0.5,
            "drivers": "test",
        }
    )
    # every client has a product line that all its neighbours buy: upsell is always on the table
    upsell = pd.DataFrame(
        {"product_line": "cloud", "neighbour_share": 1.0, "lines_bought": "licenses"}, index=X.index
    )
    out = nba.decide(
        X, churn, upsell, pd.DataFrame(columns=["subject_type"]), pd.Index([]), blocks
    ).set_index("client_id")
    threshold = rules.rules_from_seed().offer_block_min_overdue_rub
    ticket = blocks["blocking_tickets"] > 0
    overdue = blocks["blocking_overdue_amount_rub"] >= threshold
    blocked = ticket | overdue
    assert (out.loc[blocked, "is_sales_offer"] == False).all()  # noqa: E712
    assert not out.loc[blocked, "action"].isin(nba.SALES_OFFERS).any()
    assert (out["is_sales_offer_blocked"] == blocked.reindex(out.index)).all()
    assert (out.loc[ticket, "action"] == "resolve_ticket").all()
    assert (out.loc[overdue & ~ticket, "action"] == "collect_payment").all()
    # and the others do get the offer when nothing else comes first
    free = ~blocked & (pd.Series(risk[: len(X)], index=X.index) != "high")
    assert (out.loc[free, "action"] == "upsell").all()


def test_the_offer_block_rule_ignores_a_small_or_short_debt_and_a_normal_ticket():
    threshold = rules.rules_from_seed()
    reason = rules.blocked_reason([0, 0, 1, 0], [0.0, 49_999.0, 0.0, 50_000.0], threshold)
    assert reason.tolist() == [None, None, rules.BLOCK_TICKET, rules.BLOCK_OVERDUE]
    # a client 5 days late on a small invoice: under the defaults nothing counts towards the block
    assert threshold.offer_block_min_days_past_due >= 30
    assert threshold.offer_block_min_overdue_rub >= 10_000
    assert (
        threshold.write_off_after_days
        > threshold.doubtful_after_days
        >= threshold.offer_block_min_days_past_due
    )


def test_the_guard_refuses_rows_that_offer_sales_to_a_blocked_client():
    rows = pd.DataFrame(
        {
            "client_id": ["CL-1"],
            "action": ["upsell"],
            "is_sales_offer": [True],
            "is_sales_offer_blocked": [True],
        }
    )
    with pytest.raises(nba.SalesOfferToBlockedClient):
        nba.check_never_offer_when_blocked(rows)


# ------------------------------------------------------------------ sklearn helpers
def test_feature_columns_refuse_rows_without_a_trained_column():
    step = FeatureColumns(["a", "b"]).fit(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    with pytest.raises(MissingFeatures):
        step.transform(pd.DataFrame({"a": [1.0]}))


def test_grouped_folds_keep_every_snapshot_of_a_client_in_one_fold():
    idx = pd.MultiIndex.from_product([[f"CL-{i}" for i in range(50)], range(6)], names=["client_id", "t"])
    X = pd.DataFrame({"f": np.arange(len(idx))}, index=idx)
    for train, test in GroupedFolds(2).split(X):
        assert set(idx[train].get_level_values(0)).isdisjoint(idx[test].get_level_values(0))


# ------------------------------------------------------------------ the ml schema
def test_ensure_ml_schema_creates_every_table_and_replace_rows_is_idempotent():
    con = duckdb.connect()
    ensure_ml_schema(con)
    ensure_ml_schema(con)  # a second call changes nothing
    tables = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'ml'"
        ).fetchall()
    }
    assert tables == set(TABLES)
    cols = [c for c, _ in TABLES["next_best_actions"]]
    rows = pd.DataFrame(
        [[date(2026, 1, 1), "CL-1", "none", False, None, "x", False, None, 0.1, 180]], columns=cols
    )
    for _ in range(2):
        replace_rows(con, "next_best_actions", rows, {"as_of_date": date(2026, 1, 1)})
    assert con.execute("select count(*) from ml.next_best_actions").fetchone()[0] == 1


def test_no_rows_replace_a_date_with_nothing_whatever_columns_they_come_with():
    """A skipped model or a backtest without dates writes an empty frame (with or without columns):
    the date's rows go, nothing is inserted, nothing fails."""
    con = duckdb.connect()
    ensure_ml_schema(con)
    cols = [c for c, _ in TABLES["next_best_actions"]]
    row = pd.DataFrame(
        [[date(2026, 1, 1), "CL-1", "none", False, None, "x", False, None, 0.1, 180]], columns=cols
    )
    replace_rows(con, "next_best_actions", row, {"as_of_date": date(2026, 1, 1)})
    for empty in (pd.DataFrame(), pd.DataFrame(columns=["as_of_date", "unrelated"])):
        assert replace_rows(con, "next_best_actions", empty, {"as_of_date": date(2026, 1, 1)}) == 0
        assert con.execute("select count(*) from ml.next_best_actions").fetchone()[0] == 0
    # rows with columns missing are still refused
    with pytest.raises(ValueError, match="lack columns"):
        replace_rows(con, "next_best_actions", row.drop(columns="reason"), {"as_of_date": date(2026, 1, 1)})


def test_a_table_written_by_an_older_version_gets_the_new_columns():
    con = duckdb.connect()
    con.execute("create schema ml")
    con.execute("create table ml.model_runs (run_id varchar, model_name varchar)")
    con.execute("insert into ml.model_runs values ('r1', 'churn')")
    ensure_ml_schema(con)
    columns = [r[0] for r in con.execute("describe ml.model_runs").fetchall()]
    assert {"status", "reason", "version"} <= set(columns)
    assert con.execute("select run_id, status from ml.model_runs").fetchall() == [("r1", None)]


# ------------------------------------------------------------------ the sales forecast
SEASON = np.array([0.7, 0.9, 1.3, 0.95, 0.95, 1.3, 0.85, 0.85, 1.3, 1.0, 1.05, 1.8])


def _seasonal_frames(months: int, seed: int = 3) -> Frames:
    """Invoices of 1000 roubles, a Poisson number a month following SEASON, plus one huge invoice in
    a few months (what winsorising is for)."""
    rng = np.random.default_rng(seed)
    start = date(2023, 1, 1)
    days, amounts = [], []
    for k in range(months):
        m = add_months(start, k)
        n = rng.poisson(200 * SEASON[m.month - 1])
        days += [m + timedelta(days=int(d)) for d in rng.integers(0, 28, n)]
        amounts += [1000.0] * n
        if k % 7 == 3:
            days.append(m + timedelta(days=10))
            amounts.append(150_000.0)
    order = np.argsort([day_number(d) for d in days], kind="stable")
    frames = _frames_with_invoices([days[i] for i in order])
    frames.invoices["amount_rub"] = np.array(amounts)[order]
    return frames


def test_the_totals_seasonal_profile_is_not_bent_by_a_few_huge_invoices():
    frames = _seasonal_frames(36)
    origin = date(2026, 1, 1)
    model = forecast.fit_total(frames, forecast.monthly_history(frames, origin))
    assert np.abs(model.season / (SEASON / SEASON.mean()) - 1).max() < 0.12
    # the level still counts the huge invoices (two in the last year, on top of ~200k a month)
    assert 215_000 < model.level < 260_000
    assert model.predict(origin, 3).shape == (3,)


def _seasonal_fc(horizon: int, **given) -> forecast.OriginForecast:
    candidates = np.full((horizon, len(forecast.CANDIDATES)), np.nan)
    for name, values in given.items():
        candidates[:, forecast.CANDIDATES.index(name)] = values
    parts = np.full((horizon, 1), 1.0)
    return forecast.OriginForecast(
        date(2026, 1, 1), ["a|MSK"], parts, np.zeros_like(parts), parts.copy(), candidates=candidates
    )


def _weights(w: np.ndarray, *names: str) -> list[float]:
    return [w[forecast.CANDIDATES.index(n)] for n in names]


def test_combination_weights_use_only_errors_of_months_that_are_over():
    origin = date(2026, 1, 1)
    columns = forecast.COMBINATION_COLUMNS
    # top-down errs by 10, bottom-up by 20, seasonal naive by 30 (the short candidates were made too)
    rows = []
    for k in range(6):
        row = dict.fromkeys(columns, np.nan)
        row |= {"origin": add_months(origin, -k - 1), "horizon": 1, "target": add_months(origin, -k - 1)}
        row |= {"top_down": 110.0, "bottom_up": 80.0, "seasonal_naive": 130.0, "recent_level": 90.0}
        rows.append(row | {"actual": 100.0})
    errors = pd.DataFrame(rows, columns=columns)
    fc = _seasonal_fc(2, top_down=1.0, bottom_up=1.0, seasonal_naive=1.0, recent_level=1.0)
    w = forecast.combination_weights(errors, origin, fc)
    inverse = np.array([1 / 100, 1 / 400, 1 / 900])
    assert _weights(w[0], "top_down", "bottom_up", "seasonal_naive") == pytest.approx(inverse / inverse.sum())
    assert _weights(w[0], "recent_level") == [0.0]  # not a candidate of the seasonal regime
    # no errors at horizon 2: the default candidate (the top-down total) alone
    assert _weights(w[1], *forecast.CANDIDATES) == [0, 0, 0, 0, 1.0, 0, 0]
    # the same errors with targets not yet over (on or after the origin) are not used
    future = errors.assign(target=[add_months(origin, k) for k in range(6)])
    assert _weights(forecast.combination_weights(future, origin, fc)[0], "top_down") == [1.0]
    # fewer than MIN_COMBINATION_ERRORS: the default alone
    assert _weights(forecast.combination_weights(errors.iloc[:5], origin, fc)[0], "top_down") == [1.0]


def test_a_short_history_picks_a_candidate_only_when_it_clearly_beats_the_recent_level():
    origin = date(2026, 1, 1)
    columns = forecast.COMBINATION_COLUMNS
    rows = []
    for k in range(6):
        row = dict.fromkeys(columns, np.nan)
        row |= {"origin": add_months(origin, -k - 1), "horizon": 1, "target": add_months(origin, -k - 1)}
        row |= {"recent_level": 110.0, "trend": 120.0, "customer_base": 95.0, "actual": 100.0}
        rows.append(row)
    errors = pd.DataFrame(rows, columns=columns)
    fc = replace(
        _seasonal_fc(1, recent_level=1.0, trend=1.0, customer_base=1.0), regime=forecast.REGIME_SHORT
    )
    w = forecast.combination_weights(errors, origin, fc)[0]
    # the customer base errs by 5 against the level's 10 (a quarter of its squared error): chosen alone
    assert _weights(w, *forecast.CANDIDATES) == [0, 0, 0, 1.0, 0, 0, 0]
    # a candidate only a little better than the recent level does not replace it
    close = errors.assign(customer_base=91.0)  # squared error 81 against 100: less than 20% better
    w = forecast.combination_weights(close, origin, fc)[0]
    assert _weights(w, "recent_level", "trend", "customer_base") == [1.0, 0, 0]
    # before the backtest has enough errors: the recent level alone
    assert _weights(forecast.combination_weights(errors.iloc[:3], origin, fc)[0], "recent_level") == [1.0]


def test_combined_parts_still_sum_to_the_combined_total():
    fc = forecast.OriginForecast(
        origin=date(2026, 1, 1),
        series=["a|MSK", "b|MSK"],
        baseline=np.array([[50.0, 30.0], [40.0, 40.0]]),
        pipeline=np.array([[10.0, 10.0], [0.0, 0.0]]),
        forecast=np.array([[60.0, 40.0], [40.0, 40.0]]),
    )
    candidates = np.full((2, len(forecast.CANDIDATES)), np.nan)
    candidates[:, forecast.CANDIDATES.index("top_down")] = [100.0, 80.0]
    candidates[:, forecast.CANDIDATES.index("bottom_up")] = [120.0, 60.0]
    candidates[:, forecast.CANDIDATES.index("seasonal_naive")] = [200.0, 80.0]
    fc = replace(fc, candidates=candidates)
    weights = np.zeros_like(candidates)
    weights[0, [4, 5, 6]] = [0.5, 0.25, 0.25]
    weights[1, [4, 6]] = [0.5, 0.5]
    out = forecast.combine(fc, weights)
    assert out.forecast.sum(axis=1) == pytest.approx([0.5 * 100 + 0.25 * 120 + 0.25 * 200, 80.0])
    assert (out.baseline + out.pipeline) == pytest.approx(out.forecast)


def test_seasonality_needs_two_full_years():
    assert forecast.regime_for(23) == forecast.REGIME_SHORT
    assert forecast.regime_for(24) == forecast.REGIME_SEASONAL
    # and a business: one client's calendar is its buying dates
    assert forecast.regime_for(36, clients=1) == forecast.REGIME_SHORT


def _burst_frames(months: int, seed: int = 5) -> Frames:
    """200 clients who all buy first in January 2026 (three invoices each that month: an acquisition
    burst), then about once every two months."""
    rng = np.random.default_rng(seed)
    start = date(2026, 1, 1)
    days, clients = [], []
    for c in range(200):
        for d in rng.integers(0, 28, 3):
            days.append(start + timedelta(days=int(d)))
            clients.append(c)
        for k in range(1, months):
            if rng.random() < 0.5:
                days.append(add_months(start, k) + timedelta(days=int(rng.integers(0, 28))))
                clients.append(c)
    order = np.argsort([day_number(d) for d in days], kind="stable")
    return _frames_with_invoices([days[i] for i in order], [f"C{clients[i]:03d}" for i in order])


def test_a_short_history_does_not_copy_an_acquisition_burst_as_a_season():
    """Nine months, everyone arriving in January: the forecast of the next January is not the burst."""
    frames = _burst_frames(9)
    origin = date(2026, 10, 1)
    fc = forecast.forecast_at(frames, origin, 6)
    assert fc.regime == forecast.REGIME_SHORT and fc.history_months == 9
    # no seasonal candidate is made with less than a year
    assert np.isnan(fc.candidates[:, forecast.CANDIDATES.index("top_down")]).all()
    out = forecast.combine(fc, forecast.combination_weights(pd.DataFrame(), origin, fc))
    recent = forecast.monthly_history(frames, origin).total[-3:].mean()
    assert out.forecast.sum(axis=1) == pytest.approx(np.full(6, recent))
    # the customer base expects the clients to go on buying at about their rate
    base = fc.candidates[:, forecast.CANDIDATES.index("customer_base")]
    assert np.all((base > 0.5 * recent) & (base < 1.5 * recent))


def test_the_totals_interval_is_wider_with_fewer_errors_and_symmetric():
    rng = np.random.default_rng(0)

    def residuals(n):
        f = np.full(n, 100.0)
        return pd.DataFrame(
            {"origin": date(2026, 1, 1), "horizon": 1, "level": forecast.LEVEL_TOTAL, "series": "total",
             "forecast": f, "actual": f * (1 + rng.normal(0, 0.05, n))}
        )  # fmt: skip

    six = residuals(6)
    few = forecast.interval_quantiles(six, forecast.LEVEL_TOTAL, 1)
    many = forecast.interval_quantiles(residuals(400), forecast.LEVEL_TOTAL, 1)
    assert few["80"][0] == pytest.approx(-few["80"][1])
    rms = np.sqrt(np.mean(np.square(six["actual"] / six["forecast"] - 1)))
    assert few["95"][1] == pytest.approx(2.571 * rms, rel=1e-3)  # Student t, 5 degrees of freedom
    assert many["95"][1] == pytest.approx(1.96 * 0.05, rel=0.15)


def test_a_horizon_where_a_baseline_beat_the_combination_on_the_backtest_is_forecast_by_it():
    actual = np.array([[100.0, 50.0], [100.0, 50.0], [100.0, 50.0]])
    mean3 = np.array([[90.0, 50.0], [90.0, 50.0], [90.0, 50.0]])
    snaive = np.array([[80.0, 50.0], [80.0, 50.0], [100.0, 49.0]])
    # better than both one month ahead; worse than the mean two months ahead; worse than both three ahead
    model = np.array([[99.0, 50.0], [60.0, 40.0], [70.0, 50.0]])
    methods = {forecast.METHOD_MODEL: model, forecast.METHOD_MEAN3: mean3, forecast.METHOD_SNAIVE: snaive}
    judged = [(date(2025, m, 1), {k: v.copy() for k, v in methods.items()}, actual) for m in (1, 2, 3)]
    assert forecast.fallback_horizons(judged) == {2: forecast.METHOD_MEAN3, 3: forecast.METHOD_SNAIVE}
    # a baseline missing at one origin is no choice at that horizon
    judged[0][1][forecast.METHOD_SNAIVE] = snaive[:2]
    assert forecast.fallback_horizons(judged) == {2: forecast.METHOD_MEAN3, 3: forecast.METHOD_MEAN3}
    assert forecast.fallback_horizons([]) == {}

    months = [add_months(date(2024, 1, 1), i) for i in range(15)]
    values = np.array([[float(i), 10.0 * i] for i in range(15)])  # series a|x, b|y
    history = forecast.History(months, ["a|x", "b|y"], values)
    fc = forecast.OriginForecast(
        date(2025, 4, 1), ["b|y", "a|x"], np.full((3, 2), 5.0), np.full((3, 2), 2.0), np.full((3, 2), 7.0)
    )
    chosen = {2: forecast.METHOD_MEAN3, 3: forecast.METHOD_SNAIVE, 9: forecast.METHOD_MEAN3}
    out = forecast.apply_fallback(fc, history, chosen)  # 9 is beyond this forecast's horizon
    assert out.fallback == {1: forecast.METHOD_MEAN3, 2: forecast.METHOD_SNAIVE}
    # the totals: the last three months' mean (143), June 2024's for June 2025 (55); the split kept
    np.testing.assert_allclose(out.forecast[1], [71.5, 71.5])
    np.testing.assert_allclose(out.forecast[2], [27.5, 27.5])
    empty = replace(fc, forecast=np.zeros((3, 2)))
    np.testing.assert_allclose(forecast.apply_fallback(empty, history, chosen).forecast[1], [130.0, 13.0])
    np.testing.assert_allclose(out.pipeline[1], [71.5 * 2 / 7, 71.5 * 2 / 7])  # scaled with the parts
    np.testing.assert_array_equal(out.forecast[0], fc.forecast[0])
    assert forecast.apply_fallback(fc, history, {}) is fc
