"""What every `crmw` command shares: one-line usage errors, no traceback for the user, and
logging that keeps libraries' chatter in the log file.

- A bad argument is a usage error: one line on stderr naming the command and what is wrong,
  exit status 2 (click's own three-line usage block is not shown; `--help` has it).
- Any other failure is one line (or the error's own message when it is one of ours, which
  says what to do), exit status 1; the traceback goes to CRMW_HOME/logs/crmw.log, and to the
  terminal only with `crmw -v`.
- The terminal gets our own warnings and errors; library warnings (Python warnings and
  library loggers) go to the log file, and to the terminal only with `-v`.
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from pathlib import Path

import click
from rich.console import Console

# the project's own rooms: their loggers reach the terminal, their exceptions are written for users
OWN_PACKAGES = (
    "crmw",
    "dagster_project",
    "reports",
    "models",
    "quality",
    "privacy",
    "sample_exports",
    "ingest",
    "resolution",
    "warehouse",
)
LOG_NAME = "crmw.log"
_log_file: Path | None = None
_installed: list[logging.Handler] = []  # the handlers setup_logging added to the root logger


def stderr() -> Console:
    """Where errors, warnings and progress go; lines wrap at the terminal's width."""
    return Console(stderr=True, highlight=False)


def _is_own(name: str) -> bool:
    return name.split(".", 1)[0] in OWN_PACKAGES


class _OwnWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _is_own(record.name)


class _Short(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        return level + record.getMessage()


def setup_logging(verbose: bool, log_dir: Path | None) -> None:
    """Terminal: our warnings and errors (everything at debug with -v). Log file: everything
    from info up, Python warnings included."""
    global _log_file
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    terminal = logging.StreamHandler(sys.stderr)
    if verbose:
        terminal.setLevel(logging.DEBUG)
        terminal.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        )
    else:
        terminal.setLevel(logging.WARNING)
        terminal.addFilter(_OwnWarnings())
        terminal.setFormatter(_Short())
    root.addHandler(terminal)
    _installed.append(terminal)
    _log_file = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            sink = logging.FileHandler(log_dir / LOG_NAME, encoding="utf-8")
        except OSError:  # a read-only home: the terminal still works
            sink = None
        if sink is not None:
            sink.setLevel(logging.DEBUG if verbose else logging.INFO)
            sink.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(sink)
            _installed.append(sink)
            _log_file = log_dir / LOG_NAME
    # Libraries warn through `warnings` (Dagster's supersession and beta notices, pandas, ...):
    # into the log, where -v shows them on the terminal too.
    logging.captureWarnings(False)  # (re)installed: a caller may have swapped warnings.showwarning
    logging.captureWarnings(True)
    warnings.simplefilter("default")


def release_logging() -> None:
    """Remove and close what setup_logging installed, once a command is over: a command invoked
    in-process (a test, a notebook, another tool calling `cli`) leaves no handler behind writing to a
    home that may be moved or deleted next."""
    global _log_file
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    _log_file = None
    logging.captureWarnings(False)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def usage_line(exc: click.UsageError) -> str:
    """`crmw report: invalid value for '--period': ... (crmw report --help)` on one line."""
    path = exc.ctx.command_path if exc.ctx is not None else "crmw"
    message = " ".join(line.strip() for line in exc.format_message().splitlines() if line.strip())
    message = message[:1].lower() + message[1:].rstrip(".")
    return f"{path}: {message} (see `{path} --help`)"


def error_lines(exc: BaseException, verbose: bool) -> list[str]:
    """What the user reads about a failure: our errors say what to do in their own words;
    anything else is named in one line and its traceback kept in the log."""
    if _is_own(type(exc).__module__) or isinstance(exc, OSError):
        lines = [line for line in str(exc).strip().splitlines() if line.strip()] or [type(exc).__name__]
        lines[0] = f"error: {lines[0]}"
        return lines
    where = f"; the traceback is in {_log_file}" if _log_file and not verbose else ""
    return [f"unexpected error ({type(exc).__name__}): {_first_line(exc) or 'no message'}{where}"]


class CrmwGroup(click.Group):
    """The root command: turns every failure into a usage error (exit 2) or a short message (exit 1)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: D102
        try:
            return self._main(args, prog_name, complete_var, standalone_mode, **extra)
        finally:
            release_logging()

    def _main(self, args, prog_name, complete_var, standalone_mode, **extra):
        console = stderr()
        verbose = False
        try:
            argv = list(sys.argv[1:] if args is None else args)
            verbose = bool({"-v", "--verbose"} & set(argv[: argv.index("--")] if "--" in argv else argv))
            result = super().main(
                args=argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else self.get_help(click.Context(self)))
            sys.exit(0)
        except click.UsageError as exc:
            console.print(usage_line(exc), markup=False, soft_wrap=True)
            sys.exit(2)
        except click.ClickException as exc:
            console.print(f"error: {exc.format_message()}", markup=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            console.print("aborted", markup=False)
            sys.exit(130)
        except KeyboardInterrupt:
            console.print("interrupted", markup=False)
            sys.exit(130)
        except Exception as exc:
            _log_traceback(exc)
            if verbose:
                console.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
            for line in error_lines(exc, verbose):  # one line each: the terminal wraps it
                console.print(line, markup=False, soft_wrap=True)
            sys.exit(1)
        if isinstance(result, int) and not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def _log_traceback(exc: BaseException) -> None:
    if _log_file is None:
        return
    try:
        with _log_file.open("a", encoding="utf-8") as sink:
            sink.write("".join(traceback.format_exception(exc)))
    except OSError:
        pass
