"""`crmw docs`: the dbt docs of this home (every model, column, test, exposure and metric),
built with `dbt docs generate --static` and served on 127.0.0.1.

The static page (target/static_index.html) carries the manifest and the catalog inside it,
so it also opens straight from the file, offline.
"""

from __future__ import annotations

import functools
import http.server
import logging
from pathlib import Path

from warehouse.settings import Settings

log = logging.getLogger(__name__)


def build_docs(settings: Settings) -> Path:
    """Generate the docs from the home's warehouse; return the folder holding static_index.html."""
    from warehouse.dbt import generate_docs

    return generate_docs(settings)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("docs: " + format, *args)


def serve_docs(site: Path, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve `site` until Ctrl-C (index.html: the docs reading manifest.json and catalog.json)."""
    from crmw.console import console

    handler = functools.partial(_QuietHandler, directory=str(site))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise OSError(f"cannot serve the dbt docs on {host}:{port} ({exc.strerror}); try --port") from exc
    console.print(f"dbt docs on http://{host}:{port}/ ; Ctrl-C stops", markup=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
