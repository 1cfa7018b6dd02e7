"""Where each contract column comes from in one file: SQL over the stage's generated columns,
built from the detected dialect fields."""

from __future__ import annotations

from ingest.detect import Detection, normalise_header
from ingest.dialects import Field
from ingest.parsing import sql_clean_text, sql_derive_key, sql_ident, sql_literal
from ingest.validation import Part


class SourceColumns:
    """SQL for where each contract column comes from in one file, built from the detected fields.

    Expressions name only the stage's generated columns ("c0".. for CSV, jline for JSON lines),
    JSON paths built from the dialect's constants (the file's own spelling of a key the dialect
    names) and literals of the dialect's codes: never other text from the export.
    """

    def __init__(self, detection: Detection, is_json: bool) -> None:
        self.detection = detection
        self.is_json = is_json
        self.nested = detection.dialect.nested
        # key/value arrays (GA4 event_params) are unpacked once per row into the stage
        self.kv_arrays: dict[str, str] = {}
        for f in self._all_fields():
            if f.param is not None and isinstance(f.source, str):
                self.kv_arrays.setdefault(f.source, f"_kv{len(self.kv_arrays)}")

    def _all_fields(self):
        for f in self.detection.fields:
            yield f
            yield from f.key_of

    def _json_path(self, source: str) -> str | None:
        root, _, rest = source.partition(".") if self.nested else (source, "", "")
        pos = self.detection.positions.get(normalise_header(root))
        if pos is None:
            return None
        path = json_path(self.detection.headers[pos])
        for segment in rest.split(".") if rest else ():
            path += "." + json_path(segment)[2:]
        return path

    def base(self, source: str, alias: str) -> str | None:
        """The text at a header or JSON path; None when the file lacks it."""
        if self.is_json:
            path = self._json_path(source)
            return None if path is None else f"json_extract_string({alias}jline, {sql_literal(path)})"
        pos = self.detection.positions.get(normalise_header(source))
        return None if pos is None else f"{alias}{sql_ident(f'c{pos}')}"

    def stage_columns(self) -> str:
        cols = []
        for source, name in self.kv_arrays.items():
            path = self._json_path(source)
            if path is None:
                cols.append(f"NULL::VARCHAR[][] AS {sql_ident(name)}")
                continue
            value = ", ".join(
                f"json_extract_string(p, '$.value.{kind}')"
                for kind in ("string_value", "int_value", "double_value", "float_value")
            )
            cols.append(
                f"list_transform(json_extract(jline, {sql_literal(path + '[*]')}), "
                f"lambda p: [json_extract_string(p, '$.key'), coalesce({value})]) AS {sql_ident(name)}"
            )
        return "".join(f", {c}" for c in cols)

    def raw(self, f: Field, alias: str) -> str:
        """The field's text as written, after its conditions (prefixes, `when`)."""
        if f.key_of:
            expr = sql_derive_key([self.raw(part, alias) for part in f.key_of])
        elif f.param is not None:
            kv = alias + sql_ident(self.kv_arrays[f.source])
            expr = f"list_filter({kv}, lambda kv: kv[1] = {sql_literal(f.param)})[1][2]"
        elif isinstance(f.source, tuple):
            present = [b for b in (self.base(src, alias) for src in f.source) if b is not None]
            expr = f"nullif(concat_ws(' ', {', '.join(sql_clean_text(b) for b in present)}), '')"
        else:
            expr = self.base(f.source, alias) or "NULL::VARCHAR"
        if f.prefixes:
            starts = " or ".join(f"starts_with(trim({expr}), {sql_literal(p)})" for p in f.prefixes)
            expr = f"case when {starts} then {expr} end"
        if f.when:
            other = self.base(f.when[0], alias)
            if other is None:
                return "NULL::VARCHAR"
            values = ", ".join(sql_literal(v.lower()) for v in f.when[1])
            expr = f"case when lower(trim({other})) in ({values}) then {expr} end"
        return expr

    def parts(self, alias: str) -> dict[str, list[Part]]:
        out: dict[str, list[Part]] = {}
        for f in self.detection.fields:
            field = None if f.is_plain else f
            out.setdefault(f.column, []).append((self.raw(f, alias), field))
        return out


def json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
