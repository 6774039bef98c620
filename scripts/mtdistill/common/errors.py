"""The package's error convention (stdlib only: imported while Snakemake builds its DAG).

Libraries raise a PipelineError subclass whose message names the input (file, URL, dataset,
config key) and says what to do; they never raise SystemExit. The CLI edge, each job
script's `if __name__ == "__main__": errors.run_main(main)`, configures logging once
(`setup_logging`) and turns a PipelineError into one line `error: <message>` on stderr and
exit status 1.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PipelineError(Exception):
    """A failure the user can act on; the message says which input and what to do."""


class ConfigError(PipelineError, ValueError):
    """A config that cannot work (or would do harm): refused before any job runs."""


class DownloadError(PipelineError):
    """A download failed, or a URL is refused; the message says which URL and what to check."""


class ImporterError(PipelineError):
    """A dataset that cannot be imported; the message names it and says what to do."""


class InputError(PipelineError):
    """An input file (corpus, model, scores, table) that cannot be used as it is."""


class ToolError(PipelineError):
    """An external program (Marian, bicleaner, ...) failed or cannot be run."""


class UsageError(PipelineError):
    """A command line that cannot work (argparse checks the rest)."""


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Log to stderr (and append to `log_file`), in the one format every script uses."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=level, format=LOG_FORMAT, handlers=handlers, force=True)


def fail(message: object) -> int:
    """Print `error: message` to stderr (and to the log files, when logging is set up)."""
    root = logging.getLogger()
    files = [h for h in root.handlers if isinstance(h, logging.FileHandler)]
    for handler in files:  # the --log file of a script gets the error too
        handler.handle(logging.makeLogRecord(
            {"name": "error", "levelno": logging.ERROR, "levelname": "ERROR", "msg": str(message)}))
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def run_main(main: Callable[[], int | None]) -> None:
    """The CLI edge of a job script: run `main`, exit with its status (0 for None);
    a PipelineError becomes `error: ...` on stderr and status 1."""
    if not logging.getLogger().handlers:
        setup_logging()
    try:
        status = main()
    except PipelineError as err:
        status = fail(err)
    sys.exit(status or 0)
