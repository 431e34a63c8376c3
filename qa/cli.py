"""`callqa` command line: a thin layer over the library.

Each command lives in `qa/commands/` beside the others of its concern;
library errors become one-line user messages there, never tracebacks.
"""

from __future__ import annotations

import logging

import click

from qa import __version__
from qa.commands import register_all


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="callqa")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Speech QA and call-compliance analysis for Mandarin customer-service calls."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


register_all(cli)


def main() -> None:
    cli(prog_name="callqa")
