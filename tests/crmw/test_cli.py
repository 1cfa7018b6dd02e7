"""The command line as a user meets it: every bad argument of every command is a usage error
(exit 2, one line naming the command and what is wrong), and no failure shows a traceback."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from crmw.cli import cli

# A value each kind of parameter refuses (the parameter's type decides); {missing}, {folder}
# and {file} are a path that does not exist, a folder and a file under the test's tmp_path.
BAD_VALUES = {
    click.types.IntParamType: "many",
    click.types.FloatParamType: "lots",
    click.IntRange: "-5",
    click.FloatRange: "-1",
    click.Choice: "no-such-choice",
}
BAD_BY_NAME = {  # parameters whose type is ours, or whose check is a callback
    "period": "2026-13",
    "start": "2024-13",
    "end": "2024-00",
    "as_of": "2024-99-01",
    "end_date": "30.09.2026",
    "snapshot_date": "yesterday",
    "emails": "not-an-email",
    "phones": "12",
    "inns": "7707083893",  # an organisation's INN: forget erases people
}


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def bad_arguments():
    """(command words, arguments) pairs, each with one thing wrong."""
    for words, command in commands():
        required = [p for p in command.params if p.required and isinstance(p, click.Option)]
        good = [a for p in required for a in (p.opts[0], _good_value(p.name))]
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        good_args = ["{folder}"] * bool(arguments)
        yield words, [*good, *good_args, "--no-such-option"]
        for param in command.params:
            if isinstance(param, click.Option) and (param.is_flag or param.name in ("help",)):
                continue
            bad = (
                BAD_BY_NAME.get(param.name)
                or _bad_path(param.type)
                or next((v for kind, v in BAD_VALUES.items() if isinstance(param.type, kind)), None)
            )
            if bad is None:
                continue
            if isinstance(param, click.Argument):
                yield words, [*good, bad]
            else:
                others = [a for p in required if p is not param for a in (p.opts[0], _good_value(p.name))]
                yield words, [*others, *good_args, param.opts[0], bad]
        if required or any(a.required for a in arguments):
            yield words, []  # a required option or argument missing


def _bad_path(kind: click.ParamType) -> str | None:
    if not isinstance(kind, click.Path):
        return None
    if kind.exists:
        return "{missing}"
    if not kind.dir_okay:
        return "{folder}"
    if not kind.file_okay:
        return "{file}"
    raise AssertionError(f"{kind!r} accepts any path: give it a constraint the test can break")


def _good_value(name: str) -> str:
    return {"start": "2024-01", "end": "2024-02"}.get(name, "1")


CASES = list(bad_arguments())


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    monkeypatch.setenv("CRMW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_every_command_and_parameter_is_covered():
    covered = {words for words, _ in CASES}
    assert covered == {words for words, _ in commands()}
    assert len(CASES) > 40


@pytest.mark.parametrize(("words", "arguments"), CASES, ids=[" ".join(w + tuple(a)) for w, a in CASES])
def test_a_bad_argument_is_a_one_line_usage_error_with_exit_status_2(runner, tmp_path, words, arguments):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("not a folder")
    places = {"missing": tmp_path / "missing", "folder": tmp_path / "folder", "file": tmp_path / "file"}
    arguments = [a.format(**places) for a in arguments]
    result = runner.invoke(cli, [*words, *arguments], prog_name="crmw")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"crmw {' '.join(words)}: "), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""


def test_the_usage_error_says_what_is_wrong_and_how_to_write_it(runner):
    result = runner.invoke(cli, ["report", "--period", "2026-13"], prog_name="crmw")
    assert "invalid value for '--period'" in result.stderr and "month 13" in result.stderr
    result = runner.invoke(cli, ["backfill", "--from", "2024-13", "--to", "2024-12"], prog_name="crmw")
    assert "'2024-13' is not a month: write YYYY-MM" in result.stderr
    result = runner.invoke(cli, ["backfill", "--from", "2024-05", "--to", "2024-02"], prog_name="crmw")
    assert result.exit_code == 2 and "--from 2024-05 is after --to 2024-02" in result.stderr


def test_an_error_of_ours_is_its_message_without_a_traceback(runner):
    result = runner.invoke(cli, ["report", "--no-pdf"])  # nothing published in a new home
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: no published warehouse at ") and "crmw run" in result.stderr


def test_an_unexpected_failure_is_one_line_and_its_traceback_goes_to_the_log(runner, tmp_path, monkeypatch):
    import crmw.orchestrate

    def broken(*args, **kwargs):
        raise KeyError("something nobody planned for")

    monkeypatch.setattr(crmw.orchestrate, "status", broken)
    result = runner.invoke(cli, ["status"], prog_name="crmw")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1
    assert len(lines) == 1 and lines[0].startswith("unexpected error (KeyError): ")
    log = tmp_path / "home" / "logs" / "crmw.log"
    assert "Traceback" in log.read_text() and str(log) in lines[0]
    verbose = runner.invoke(cli, ["-v", "status"], prog_name="crmw")
    assert "Traceback" in verbose.stderr  # asked for with -v


def test_library_warnings_stay_in_the_log_unless_verbose(runner, tmp_path, monkeypatch):
    import warnings

    import crmw.orchestrate

    def warns(*args, **kwargs):
        warnings.warn("a library's supersession notice", DeprecationWarning, stacklevel=1)
        return {"runs": [], "health": None, "published": None}

    monkeypatch.setattr(crmw.orchestrate, "status", warns)
    quiet = runner.invoke(cli, ["status"], prog_name="crmw")
    assert quiet.exit_code == 0 and "supersession" not in quiet.stderr + quiet.stdout
    assert "supersession" in (tmp_path / "home" / "logs" / "crmw.log").read_text()
    loud = runner.invoke(cli, ["-v", "status"], prog_name="crmw")
    assert "supersession" in loud.stderr


def test_help_fits_an_80_column_terminal(runner, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for words, _ in commands():
        result = runner.invoke(cli, [*words, "--help"], prog_name="crmw")
        assert result.exit_code == 0
        assert max(len(line) for line in result.stdout.splitlines()) <= 80, words


def test_every_room_of_the_project_counts_as_our_own_for_errors_and_warnings():
    """A room missing here would have its errors reported as unexpected and its warnings hidden."""
    from crmw.command import OWN_PACKAGES
    from tests.test_layout import LEVELS

    assert set(LEVELS) - {"bench"} <= set(OWN_PACKAGES)  # bench is run by python -m bench, not crmw
