"""python -m qa.samplegen --out DIR [--set samples|generated|trunk|hard|situations|situations-hard] [--count N]
[--seed S] [--corrupt N]
[--real-speech DIR]"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from .build import SETS, build_set
from .hard import default_real_speech
from .tts import TTSUnavailable


@click.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the calls, labels and metadata.csv into.")
@click.option("--set", "which", type=click.Choice(SETS), default="samples",
              show_default=True, help="The committed samples, a larger generated set, generated calls recorded on the "
              "trunk (IVR, key press and queue music before the agent), the held-out hard set (new and accented voices, fast agents, recorded customers), or calls built around "
              "the scenario rules' situations (situations-hard: spoken by the hard set's voices).")
@click.option("--count", type=click.IntRange(1, 10000), default=60, show_default=True,
              help="Number of calls in a generated set.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of a generated set.")
@click.option("--corrupt", type=click.IntRange(0, 100), default=0, show_default=True,
              help="Also write this many broken files (truncated, not audio, empty).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (one synthesis thread each); output is the same.")
@click.option("--real-speech", "real_speech", type=click.Path(file_okay=False, path_type=Path),
              default=default_real_speech, show_default="../shared/real_speech beside the repository",
              help="Recorded clips (*.wav, more/*.wav, with `text` transcripts) for the hard set's "
              "customers; without them its customers are all synthesized.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def main(out: Path, which: str, count: int, seed: int, corrupt: int, jobs: int, real_speech: Path,
         quiet: bool) -> None:
    """Generate labelled Mandarin customer-service calls over a simulated phone line."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    try:
        labels = build_set(out, which, count=count, seed=seed, corrupt=corrupt, jobs=jobs,
                           real_speech=real_speech)
    except TTSUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(labels)} calls written to {out}", err=quiet)


if __name__ == "__main__":
    sys.exit(main())
