"""Parsing and validating an export's text in SQL: one SELECT per read that types every column by
the dialect's conventions and collects every reason a row is rejected or flagged."""

from __future__ import annotations

from ingest.contracts import Column, Contract
from ingest.dialects import Dialect, Field
from ingest.parsing import (
    MOJIBAKE_HINT,
    sql_boolean,
    sql_clean_text,
    sql_date,
    sql_date_of_timestamp,
    sql_decimal,
    sql_decimal_ambiguous,
    sql_email,
    sql_enum,
    sql_ident,
    sql_inn,
    sql_integer,
    sql_kpp,
    sql_literal,
    sql_phone,
    sql_salesforce_id18,
    sql_timestamp,
    sql_value_map,
)

ISO_DATE_FORMATS = ("%Y-%m-%d",)
ISO_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def typed_expr(
    col: Column, text: str, dialect: Dialect, lenient_iso: bool, field: Field | None = None
) -> str:
    date_formats = dialect.date_formats + (ISO_DATE_FORMATS if lenient_iso else ())
    ts_formats = dialect.timestamp_formats + (ISO_TIMESTAMP_FORMATS if lenient_iso else ())
    if field is not None and field.date_of_timestamp:
        return sql_date_of_timestamp(text, ts_formats)
    if field is not None and field.scale != 1 and col.type in ("integer", "decimal"):
        return f"({typed_expr(col, text, dialect, lenient_iso)}) * {int(field.scale)}"
    match col.type:
        case "string":
            return text
        case "integer":
            return sql_integer(text)
        case "decimal":
            return sql_decimal(text, dialect.decimal_comma)
        case "date":
            return sql_date(text, date_formats)
        case "timestamp":
            return sql_timestamp(text, ts_formats)
        case "boolean":
            return sql_boolean(text, dialect.true_values, dialect.false_values)
        case "inn":
            return sql_inn(text)
        case "kpp":
            return sql_kpp(text)
        case "email":
            return sql_email(text)
        case "phone":
            return sql_phone(text)
        case "enum":
            return sql_enum(text, col.allowed)
    raise ValueError(f"no parser for type {col.type}")


def _value_rules(text: str, field: Field | None) -> str:
    """An export's codes and id forms -> ours, on trimmed text (before the type's parser)."""
    if field is None:
        return text
    if field.values:
        text = sql_value_map(text, field.values)
    if field.id_form == "salesforce":
        text = sql_salesforce_id18(text)
    return text


def _has_rules(field: Field | None) -> bool:
    return field is not None and bool(field.values or field.id_form)


_BAD_CODE = {
    "integer": "bad_number",
    "decimal": "bad_number",
    "date": "bad_date",
    "timestamp": "bad_date",
    "boolean": "bad_boolean",
    "inn": "bad_inn",
    "kpp": "bad_kpp",
    "email": "bad_email",
    "phone": "bad_phone",
    "enum": "bad_enum",
}


def _labels(checks: list[tuple[str, str]], empty: str) -> str:
    """The labels of the checks that hold, as a list; `empty` when none does.

    Most rows pass every check: one OR decides that cheaply, and the list (which
    costs an allocation per row) is built only for the rows that need it.
    """
    if not checks:
        return empty
    any_holds = " or ".join(f"coalesce({cond}, false)" for cond, _ in checks)
    items = ", ".join(f"case when {cond} then {label} end" for cond, label in checks)
    return f"case when {any_holds} then list_filter([{items}], lambda x: x is not null) else {empty} end"


def _is_identifier(col: Column) -> bool:
    """Ids, URLs and tags are codes, not prose: they are not checked for mojibake
    (the check costs a regular expression per value)."""
    return (
        col.name.endswith(("_id", "_ref", "_url"))
        or col.name.startswith("utm_")
        or col.name in {"referrer", "website"}
    )


def original_text(parts: list[Part]) -> str | None:
    """The text quarantine keeps for a column: its first non-empty part as written."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0][0]
    return "coalesce(" + ", ".join(f"nullif({e}, '')" for e, _ in parts) + ")"


def _reason(code: str, col: str) -> str:
    return sql_literal(f"{code}:{col}")


Part = tuple[str, "Field | None"]


def build_validation_sql(
    contract: Contract,
    dialect: Dialect,
    source_exprs: dict[str, str | list[Part]],
    extras_expr: str,
    malformed_expr: str,
    lenient_iso: bool,
    stage_sql: str,
    raw_line_expr: str = "NULL::VARCHAR",
    check_replacement: bool = True,
) -> str:
    """SELECT over `stage_sql` giving _f (the file), _rn, typed v_<col>, _reasons, _issues, _extras,
    and for rejected rows only the original text o_<col> and _raw_line.

    source_exprs maps each contract column present in the file to an SQL expression over the
    stage (generated column names and our own constants, never export text), or to several
    (expression, field) parts in precedence order, whose field rules (codes, id forms, scale)
    apply to that part. The file is read once: nothing is copied before validation.
    """
    t_cols, v_cols, reasons, issues, invalid, o_cols, fix_cols = [], [], [], [], [], [], []
    for col in contract.columns:
        ambiguous = None
        t, v, m = sql_ident(f"t_{col.name}"), sql_ident(f"v_{col.name}"), sql_ident(f"m_{col.name}")
        given = source_exprs.get(col.name)
        parts: list[Part] = [(given, None)] if isinstance(given, str) else list(given or [])
        src = original_text(parts)
        o_cols.append(f"{src or 'NULL::VARCHAR'} AS {sql_ident('o_' + col.name)}")
        per_part = len(parts) > 1 and col.type != "string"
        if per_part:
            # typed columns fed by several fields: each part is parsed with its own rules, the first
            # that gives a value wins, and a part that does not parse makes the column bad
            names = [sql_ident(f"t_{col.name}__{k}") for k in range(len(parts))]
            for name, (expr, fld) in zip(names, parts, strict=True):
                t_cols.append(f"{_value_rules(sql_clean_text(expr), fld)} AS {name}")
            t_cols.append(f"coalesce({', '.join(names)}) AS {t}")
            typed = [
                typed_expr(col, n, dialect, lenient_iso, fld)
                for n, (_, fld) in zip(names, parts, strict=True)
            ]
            v_cols.append(f"coalesce({', '.join(typed)}) AS {v}")
            bad = " or ".join(f"({n} is not null and {x} is null)" for n, x in zip(names, typed, strict=True))
        else:
            if len(parts) > 1:
                text = f"coalesce({', '.join(_value_rules(sql_clean_text(e), f) for e, f in parts)})"
            elif parts:
                text = _value_rules(sql_clean_text(parts[0][0]), parts[0][1])
            field = parts[0][1] if len(parts) == 1 else None
            checks_mojibake = bool(parts) and col.type == "string" and not _is_identifier(col)
            if not parts:
                t_cols.append(f"NULL::VARCHAR AS {t}")
            elif checks_mojibake:
                # the repair (a Python function) runs once, and only on text the hint picks out
                f = sql_ident(f"f_{col.name}")
                hint = f"regexp_matches({text}, {sql_literal(MOJIBAKE_HINT)})"
                fix_cols.append(f"case when {hint} then crmw_repair_mojibake({text}) end AS {f}")
                t_cols.append(f"coalesce({f}, {text}) AS {t}, {f} is not null AS {m}")
                issues.append((m, _reason("repaired_mojibake", col.name)))
            else:
                t_cols.append(f"{text} AS {t}")
            v_cols.append(f"{typed_expr(col, t, dialect, lenient_iso, field)} AS {v}")
            bad = f"{t} is not null and {v} is null"
            if col.type == "decimal" and parts:
                # an ambiguous number has its own reason, never bad_number, and is never rounded
                ambiguous = f"{t} is not null and {sql_decimal_ambiguous(t, dialect.decimal_comma)}"
                bad = f"{bad} and not coalesce({sql_decimal_ambiguous(t, dialect.decimal_comma)}, false)"
        if not parts:
            if col.required:
                reasons.append(("true", _reason("missing_required", col.name)))
            continue
        if col.required:
            reasons.append((f"{t} is null", _reason("missing_required", col.name)))
        if col.type != "string":
            (reasons if col.invalid == "reject" else issues).append(
                (bad, _reason(_BAD_CODE[col.type], col.name))
            )
            if ambiguous:
                (reasons if col.invalid == "reject" else issues).append(
                    (ambiguous, _reason("ambiguous_number", col.name))
                )
            unusable = f"({bad}) or ({ambiguous})" if ambiguous else bad
            if col.invalid == "flag":
                invalid.append((unusable, f"{sql_literal(col.name)}, case when {unusable} then {t} end"))
        else:
            # Typed columns reject undecodable or absurd text by failing to parse.
            # strlen (bytes, kept with the string) >= length (characters, counted): cheap test first
            too_long = f"strlen({t}) > {col.max_length} and length({t}) > {col.max_length}"
            reasons.append((too_long, _reason("too_long", col.name)))
            if check_replacement:  # False when the file's text holds no U+FFFD at all
                reasons.append((f"contains({t}, chr(65533))", _reason("bad_encoding", col.name)))
        if col.min_value is not None:
            reasons.append((f"{v} < {col.min_value}", _reason("out_of_range", col.name)))
    reasons_expr = _labels(reasons, "[]::VARCHAR[]")
    issues_expr = _labels(issues, "NULL::VARCHAR[]")
    if invalid:
        any_bad = " or ".join(f"({cond})" for cond, _ in invalid)
        invalid_expr = f"case when {any_bad} then json_object({', '.join(pair for _, pair in invalid)}) end"
    else:
        invalid_expr = "NULL::JSON"
    v_names = ", ".join(sql_ident(f"v_{c.name}") for c in contract.columns)
    o_names = ", ".join(sql_ident(f"o_{c.name}") for c in contract.columns)
    o_kept = ", ".join(
        f"case when _malformed is not null or len(_reasons0) > 0 then {sql_ident('o_' + c.name)} end "
        f"AS {sql_ident('o_' + c.name)}"
        for c in contract.columns
    )
    return f"""
        with t as (
            select _f, _rn, {", ".join(t_cols)}, {extras_expr} AS _extras, {malformed_expr} AS _malformed,
                {", ".join(o_cols)}, {raw_line_expr} AS _raw_line
            from {f"(select *, {', '.join(fix_cols)} from {stage_sql})" if fix_cols else stage_sql}
        ), v as (
            select *, {", ".join(v_cols)} from t
        ), r as (
            select _f, _rn, {v_names}, {o_names}, _raw_line, _extras, _malformed,
                {reasons_expr} AS _reasons0,
                {issues_expr} AS _issues,
                {invalid_expr} AS _invalid_values
            from v
        )
        select _f, _rn, {v_names}, _extras, _issues, _invalid_values,
            case when _malformed is not null then [_malformed] else _reasons0 end AS _reasons,
            {o_kept},
            case when _malformed is not null or len(_reasons0) > 0 then _raw_line end AS _raw_line
        from r
    """
