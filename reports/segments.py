"""Reading client value segments (ml.client_segments, ml.client_segment_migration,
written by the model jobs; models/schema.py has their columns) and the movements
between two dates: shared by the report and notebooks/client_segments.ipynb.

Segments are ordered by value: their clients' mean 12-month revenue, highest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from reports.formatting import fmt_int, fmt_rub, known_to
from reports.model import Metric, Table
from reports.source import Source

SEGMENTS_TABLE = "ml.client_segments"
MIGRATION_TABLE = "ml.client_segment_migration"

SEGMENT_COLUMNS = [
    "as_of_date",
    "client_id",
    "segment",
    "value_class",
    "behaviour",
    "revenue_12m_rub",
    "days_since_last_invoice",
    "expected_value_rub",
]


def client_segments(source: Source) -> pd.DataFrame:
    """Every segmentation: as_of_date, client_id, segment, value_class, behaviour,
    revenue_12m_rub, days_since_last_invoice, expected_value_rub."""
    source.require_rows(SEGMENTS_TABLE)
    frame = source.df(f"select {', '.join(SEGMENT_COLUMNS)} from {SEGMENTS_TABLE}")
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    return frame


def segment_dates(frame: pd.DataFrame) -> list[date]:
    return sorted(frame["as_of_date"].dropna().unique())


def segments_on(frame: pd.DataFrame, end: date) -> pd.DataFrame:
    """The latest segmentation known by `end`: as_of_date on or before it (as_of_date is
    exclusive: computed from data strictly before that day). Empty when there is none."""
    dates = [d for d in segment_dates(frame) if d <= end]
    return frame[frame["as_of_date"] == dates[-1]].reset_index(drop=True) if dates else frame.iloc[0:0]


def segment_order(frame: pd.DataFrame) -> list[str]:
    """Segments from the most valuable (highest mean 12-month revenue) down."""
    if frame.empty:
        return []
    return list(frame.groupby("segment")["revenue_12m_rub"].mean().sort_values(ascending=False).index)


def migration_matrix(
    before: pd.DataFrame, after: pd.DataFrame, order: list[str] | None = None
) -> pd.DataFrame:
    """Clients by segment before (rows) and after (columns); 'new' and 'gone' for clients
    in one segmentation only."""
    joined = before[["client_id", "segment"]].merge(
        after[["client_id", "segment"]], on="client_id", how="outer", suffixes=("_before", "_after")
    )
    joined["segment_before"] = joined["segment_before"].fillna("new")
    joined["segment_after"] = joined["segment_after"].fillna("gone")
    matrix = pd.crosstab(joined["segment_before"], joined["segment_after"])
    if order:
        rows = [s for s in [*order, "new"] if s in matrix.index]
        cols = [s for s in [*order, "gone"] if s in matrix.columns]
        matrix = matrix.reindex(index=rows, columns=cols, fill_value=0)
    return matrix


def moved_clients(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Clients in both segmentations whose segment changed: client_id, segment_before, segment_after."""
    joined = before[["client_id", "segment"]].merge(
        after[["client_id", "segment"]], on="client_id", suffixes=("_before", "_after")
    )
    return joined[joined["segment_before"] != joined["segment_after"]].reset_index(drop=True)


def recorded_migration(source: Source, as_of: date) -> pd.DataFrame:
    """The migration the model jobs recorded for the segmentation of `as_of` (from the
    segmentation they compared it with): client_id, segment_before, segment_after, from_as_of_date."""
    if not source.has(MIGRATION_TABLE):
        return pd.DataFrame(columns=["client_id", "segment_before", "segment_after", "from_as_of_date"])
    frame = source.df(
        f"""
        select client_id, from_segment as segment_before, to_segment as segment_after, from_as_of_date
        from {MIGRATION_TABLE} where as_of_date = $day
        """,
        {"day": as_of},
    )
    frame["from_as_of_date"] = pd.to_datetime(frame["from_as_of_date"]).dt.date
    return frame


@dataclass
class SegmentMovement:
    """Segments at a period end against an earlier segmentation."""

    day: date | None  # the segmentation used for 'now'
    before_day: date | None  # the one compared with
    sizes: pd.DataFrame  # segment, clients_before, clients_now, revenue_12m_rub
    matrix: pd.DataFrame
    moved_up: int = 0
    moved_down: int = 0
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> list[Metric]:
        if self.day is None or self.before_day is None:
            return []
        since = f"since the segmentation on {known_to(self.before_day)}" if self.before_day else ""
        return [
            Metric("Clients that moved up a segment", self.moved_up, better="up", note=since),
            Metric("Clients that moved down a segment", self.moved_down, better="down", note=since),
        ]

    def flows(self) -> pd.DataFrame:
        """Per segment (value order): clients before and now, revenue now, and what became of
        the clients it had before: stayed, moved up, moved down, left (no longer segmented);
        and the clients new to segmentation that joined it."""
        order = list(self.sizes["segment"]) if not self.sizes.empty else []
        rank = {segment: i for i, segment in enumerate(order)}
        out = self.sizes.set_index("segment").copy()
        for column in ("stayed", "moved_up", "moved_down", "left", "joined_new"):
            out[column] = 0
        if self.matrix.empty:
            return out.reset_index()
        for before, row in self.matrix.iterrows():
            for after, count in row.items():
                if before == "new":
                    if after in out.index:
                        out.loc[after, "joined_new"] += count
                    continue
                if before not in out.index:
                    continue
                if after == "gone":
                    out.loc[before, "left"] += count
                elif after == before:
                    out.loc[before, "stayed"] += count
                elif rank.get(after, len(order)) < rank[before]:
                    out.loc[before, "moved_up"] += count
                else:
                    out.loc[before, "moved_down"] += count
        return out.reset_index()

    def tables(self) -> list[Table]:
        if self.sizes.empty:
            return []
        when = (
            f" ({known_to(self.before_day)} → {known_to(self.day)})" if self.before_day and self.day else ""
        )
        has_before = not self.matrix.empty
        rows = []
        for r in self.flows().to_dict("records"):
            rows.append(
                [
                    r["segment"],
                    fmt_int(r["clients_before"]) if has_before else "–",
                    fmt_int(r["clients_now"]),
                    fmt_rub(r["revenue_12m_rub"]),
                    *(
                        (fmt_int(r[c]) for c in ("stayed", "moved_up", "moved_down", "left", "joined_new"))
                        if has_before
                        else ["–"] * 5
                    ),
                ]
            )
        return [
            Table(
                title=f"Value segments, most valuable first, and where their clients went{when}",
                columns=[
                    "Segment",
                    "Clients before",
                    "Clients now",
                    "12-month revenue now",
                    "Stayed",
                    "Moved up",
                    "Moved down",
                    "Left",
                    "Joined (new)",
                ],
                rows=rows,
                clip={0: "22%"},
            )
        ]


def segment_comparison(
    source: Source, frame: pd.DataFrame, day: date, before_day: date
) -> tuple[pd.DataFrame, pd.DataFrame, date | None, date | None]:
    """(now, before, now_day, before_day_used): the segmentation on `day` and the one to
    compare it with: the segmentation on `before_day` when the model jobs kept one, else
    the earlier segments they recorded in ml.client_segment_migration. Empty frames when
    there is nothing to compare."""
    now = segments_on(frame, day)
    if now.empty:
        return now, frame.iloc[0:0], None, None
    now_day = now["as_of_date"].iloc[0]
    before = segments_on(frame, before_day)
    if not before.empty and before["as_of_date"].iloc[0] != now_day:
        return now, before, now_day, before["as_of_date"].iloc[0]
    recorded = recorded_migration(source, now_day)
    recorded = recorded[recorded["segment_before"].notna()]
    if recorded.empty:
        return now, frame.iloc[0:0], now_day, None
    before = recorded.rename(columns={"segment_before": "segment"})[["client_id", "segment"]]
    return now, before, now_day, recorded["from_as_of_date"].iloc[0]


def segment_movement(source: Source, day: date, before_day: date) -> SegmentMovement:
    """Segments on `day` against an earlier segmentation (see segment_comparison)."""
    frame = client_segments(source)
    now, before, now_day, before_date = segment_comparison(source, frame, day, before_day)
    if now.empty:
        return SegmentMovement(
            None,
            None,
            pd.DataFrame(),
            pd.DataFrame(),
            notes=[
                f"No client segmentation was made with data up to {day - timedelta(days=1):%d %b %Y} or earlier."
            ],
        )
    order = segment_order(frame)
    moved = (
        moved_clients(before, now)
        if not before.empty
        else pd.DataFrame(columns=["segment_before", "segment_after"])
    )
    notes = (
        [] if not before.empty else ["Only one segmentation exists up to the period end; movements need two."]
    )
    rank = {segment: i for i, segment in enumerate(order)}
    up = sum(
        rank.get(a, len(order)) < rank.get(b, len(order))
        for b, a in zip(moved["segment_before"], moved["segment_after"], strict=True)
    )
    sizes = (
        pd.DataFrame(
            {
                "clients_before": before.groupby("segment")["client_id"].nunique(),
                "clients_now": now.groupby("segment")["client_id"].nunique(),
                "revenue_12m_rub": now.groupby("segment")["revenue_12m_rub"].sum(),
            }
        )
        .reindex(order)
        .fillna(0)
        .reset_index(names="segment")
    )
    return SegmentMovement(
        day=now_day,
        before_day=before_date,
        sizes=sizes,
        matrix=migration_matrix(before, now, order) if not before.empty else pd.DataFrame(),
        moved_up=int(up),
        moved_down=int(len(moved) - up),
        notes=notes,
    )
