"""Reading client value segments (ml.client_segments) and the movements between two
dates: shared by the report and notebooks/client_segments.ipynb."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from crmw.reports.formatting import fmt_int, fmt_rub
from crmw.reports.model import Metric, Table
from crmw.reports.source import ColumnMissing, Source

SEGMENTS_TABLE = "ml.client_segments"

_SEGMENT_COLUMNS = ("segment", "segment_name", "segment_label", "value_segment", "cluster")
_AS_OF_COLUMNS = ("as_of_date", "segmented_as_of", "score_date", "as_of")
_ORDER_COLUMNS = ("segment_rank", "segment_order", "value_rank")


def client_segments(source: Source) -> pd.DataFrame:
    """client_id, as_of_date, segment, segment_rank (1 = most valuable, when known)."""
    source.require(SEGMENTS_TABLE)
    t = SEGMENTS_TABLE
    segment = source.first_column(t, *_SEGMENT_COLUMNS)
    if segment is None or "client_id" not in source.columns(t):
        raise ColumnMissing(t, ["client_id / segment"])
    as_of = source.first_column(t, *_AS_OF_COLUMNS)
    order = source.first_column(t, *_ORDER_COLUMNS)
    cols = [
        "client_id",
        f"cast({as_of} as date) as as_of_date" if as_of else "null::date as as_of_date",
        f"cast({segment} as varchar) as segment",
        f"{order} as segment_rank" if order else "null as segment_rank",
    ]
    frame = source.df(f"select {', '.join(cols)} from {t}")
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    return frame


def segment_dates(frame: pd.DataFrame) -> list[date]:
    return sorted(frame["as_of_date"].dropna().unique())


def segments_on(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """The latest segmentation made on or before `day`."""
    if frame["as_of_date"].isna().all():
        return frame
    dates = [d for d in segment_dates(frame) if d <= day]
    return frame[frame["as_of_date"] == dates[-1]] if dates else frame.iloc[0:0]


def segment_order(frame: pd.DataFrame) -> list[str]:
    if frame["segment_rank"].notna().any():
        ranks = frame.dropna(subset=["segment_rank"]).groupby("segment")["segment_rank"].min()
        return list(ranks.sort_values().index)
    return sorted(frame["segment"].dropna().unique())


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
    """Clients whose segment changed: client_id, segment_before, segment_after."""
    joined = before[["client_id", "segment"]].merge(
        after[["client_id", "segment"]], on="client_id", suffixes=("_before", "_after")
    )
    return joined[joined["segment_before"] != joined["segment_after"]].reset_index(drop=True)


@dataclass
class SegmentMovement:
    day: date
    before_day: date | None
    sizes: pd.DataFrame  # segment, clients_before, clients_now
    matrix: pd.DataFrame | None
    moved: int
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> list[Metric]:
        return [
            Metric(
                "Clients that changed segment",
                self.moved,
                better=None,
                note=f"since {self.before_day:%d %b %Y}" if self.before_day else "",
            )
        ]

    def tables(self) -> list[Table]:
        out = [
            Table(
                title="Clients per value segment",
                columns=["Segment", "Before", "Now", "12-month revenue now"],
                rows=[
                    [
                        r["segment"],
                        fmt_int(r["clients_before"]),
                        fmt_int(r["clients_now"]),
                        fmt_rub(r.get("revenue_12m_rub")),
                    ]
                    for r in self.sizes.to_dict("records")
                ],
            )
        ]
        if self.matrix is not None and not self.matrix.empty:
            out.append(
                Table(
                    title="Segment movements (rows: before, columns: now)",
                    columns=["Before \\ now", *map(str, self.matrix.columns)],
                    rows=[
                        [str(i), *(fmt_int(v) for v in row)]
                        for i, row in zip(self.matrix.index, self.matrix.to_numpy().tolist(), strict=True)
                    ],
                )
            )
        return out


def segment_movement(source: Source, day: date, before_day: date) -> SegmentMovement:
    frame = client_segments(source)
    now = segments_on(frame, day)
    before = segments_on(frame, before_day)
    notes = []
    if not now.empty and not before.empty and set(now["as_of_date"]) == set(before["as_of_date"]):
        notes.append("Only one segmentation exists up to the period end; movements need two.")
        before = before.iloc[0:0]
    order = segment_order(frame)
    sizes = (
        pd.DataFrame(
            {
                "clients_before": before.groupby("segment")["client_id"].nunique(),
                "clients_now": now.groupby("segment")["client_id"].nunique(),
            }
        )
        .reindex(order)
        .fillna(0)
        .astype(int)
        .reset_index(names="segment")
    )
    matrix = migration_matrix(before, now, order) if not before.empty else None
    before_date = before["as_of_date"].dropna().max() if not before.empty else None
    return SegmentMovement(
        day=day,
        before_day=before_date,
        sizes=sizes,
        matrix=matrix,
        moved=len(moved_clients(before, now)) if not before.empty else 0,
        notes=notes,
    )
