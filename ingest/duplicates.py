"""Repeated keys: within a file, and for event entities against raw and the earlier files of a read."""

from __future__ import annotations

from ingest.contracts import Contract
from ingest.parsing import sql_ident


def flag_duplicates(con, contract: Contract, originals: dict[str, str], loaded_schema: str = "raw") -> None:
    """Quarantine repeated keys, exactly as loading the files one after another would:

    - in one file, every row after the first with the same key is a `duplicate_key`;
    - for event entities, a row still good whose key was loaded from another file whose
      event time lies within this file's period is `duplicate_key:already_loaded`: a file
      loaded earlier (in raw) or an earlier file of this read, file by file.

    Only keys seen more than once in the read need more than one pass: they are copied to
    a small table first, and every mark goes into _valid in one update at the end.

    `loaded_schema` holds the rows loaded before: raw in the warehouse, the lake's views
    (ingest.lake) when ingest writes a lake.
    """
    key_v = ", ".join(sql_ident(f"v_{k}") for k in contract.key)
    present = " and ".join(f"{sql_ident(f'v_{k}')} is not null" for k in contract.key)

    def match(a: str, b: str) -> str:
        return " and ".join(f"{a}.{sql_ident('v_' + k)} = {b}.{sql_ident('v_' + k)}" for k in contract.key)

    is_event = contract.kind == "event"
    v_et = sql_ident("v_" + contract.event_time) if is_event else "NULL"
    con.execute(
        f"""
        create or replace temp table _cand as
        select v._f, v._rn, {", ".join(f"v.{sql_ident('v_' + k)}" for k in contract.key)}, {v_et} AS _et,
            v._raw_line is null AS _plain, len(v._reasons) = 0 AS _good
        from _valid v semi join (
            select {key_v} from _valid where {present} group by all having count(*) > 1
        ) k on {match("v", "k")}
        """
    )
    con.execute("create or replace temp table _marks (_f integer, _rn bigint, reason varchar)")
    con.execute(
        f"""
        insert into _marks
        select c._f, c._rn, 'duplicate_key' from _cand c join (
            select _f, {key_v}, min(_rn) AS _first_rn from _cand where _plain group by all having count(*) > 1
        ) r on c._f = r._f and {match("c", "r")}
        where c._rn > r._first_rn
        """
    )
    if is_event:
        entity, et = sql_ident(contract.entity), sql_ident(contract.event_time)
        con.execute(
            f"create or replace temp table _periods as select _f, min({v_et}) AS lo, max({v_et}) AS hi "
            "from _valid group by _f"
        )
        cond = " and ".join(f"r.{sql_ident(k)} = v.{sql_ident('v_' + k)}" for k in contract.key)
        con.execute(
            f"""
            insert into _marks
            select v._f, v._rn, 'duplicate_key:already_loaded' from _valid v join _periods p using (_f)
            where len(v._reasons) = 0
              and not exists (select 1 from _marks m where m._f = v._f and m._rn = v._rn)
              and exists (
                select 1 from {loaded_schema}.{entity} r
                where {cond}
                  and r.{et} between (select min(lo) from _periods) and (select max(hi) from _periods)
                  and r.{et} between p.lo and p.hi
              )
            """
        )
        # keys in more than one file of the read: file by file, each after the ones before it
        con.execute(
            "update _cand set _good = false "
            "where exists (select 1 from _marks m where m._f = _cand._f and m._rn = _cand._rn)"
        )
        files = con.execute(
            f"select list(distinct _f order by _f) from _cand where ({key_v}) in "
            f"(select ({key_v}) from _cand group by all having count(distinct _f) > 1)"
        ).fetchone()[0]
        for f in (files or [])[1:]:
            rows = con.execute(
                f"""
                select c._rn from _cand c join _periods p using (_f)
                where c._f = ? and c._good and exists (
                    select 1 from _cand e where e._f < c._f and e._good and {match("e", "c")}
                      and e._et between p.lo and p.hi
                )
                """,
                [f],
            ).fetchall()
            if rows:
                numbers = [r[0] for r in rows]
                con.execute(
                    "update _cand set _good = false where _f = ? and list_contains(?, _rn)", [f, numbers]
                )
                con.executemany(
                    "insert into _marks values (?, ?, 'duplicate_key:already_loaded')",
                    [[f, n] for n in numbers],
                )
    con.execute("drop table _cand")
    if con.execute("select count(*) from _marks").fetchone()[0]:
        sets = ", ".join(f"{sql_ident('o_' + c)} = {expr}" for c, expr in originals.items())
        con.execute(
            f"""
            update _valid set _reasons = list_append(_valid._reasons, m.reason), {sets}
            from _marks m join _stage s using (_f, _rn)
            where _valid._f = m._f and _valid._rn = m._rn
            """
        )
    con.execute("drop table _marks")
