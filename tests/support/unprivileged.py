"""Running the `crmw` command so that file permission bits apply to it.

Root reads and writes whatever the permission bits say (the capabilities CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH and CAP_FOWNER). When the tests run as root (as they do in containers), the
command runs without those capabilities, so an unreadable export or a read-only warehouse folder is
what it is for any other user."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

from warehouse.settings import PROJECT_DIR

PR_CAPBSET_DROP = 24
PERMISSION_BYPASSES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _without_permission_bypasses() -> None:
    """In the child before exec: drop the capabilities from the bounding set, so the command
    started does not get them back (root's capabilities after exec are the bounding set)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in PERMISSION_BYPASSES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_crmw(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess:
    """`crmw ARGS` with CRMW_HOME=home, file permissions applying even when the tests run as root."""
    return subprocess.run(
        [sys.executable, "-m", "crmw.cli", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, "CRMW_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_without_permission_bypasses if os.geteuid() == 0 else None,
    )
