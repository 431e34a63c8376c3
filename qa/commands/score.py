"""`callqa score | rescore | report | export-examples`: the nightly job and its outputs."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from qa.commands.transcribe import build_options, model_options, roles_option

DB_OPTION = click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
                         help="The DuckDB file of scored calls.")
VERIFY_OPTION = click.option(
    "--verify/--no-verify", default=True, show_default=True,
    help="Let the checks ask the audio about lines the text leaves in doubt (a missing mandated line, "
         "a forbidden phrase just below or barely above its floor); --no-verify judges by text alone.")
RULEBOOK_OPTION = click.option("--rulebook", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                               help="A TOML file that extends or overrides the default rulebook.")


def default_workers() -> int:
    """One process per two cores: the Whisper decoder already keeps two cores busy."""
    return max(1, (os.cpu_count() or 1) // 2)


def _load_rulebook(path: Path | None):
    from qa.phrases.rulebook import RulebookError, load_rulebook

    try:
        book = load_rulebook(path)
    except RulebookError as exc:
        raise click.ClickException(str(exc)) from exc
    return book


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
                    console=Console(stderr=True), disable=quiet, transient=False)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


@click.command()
@click.argument("directory")  # a folder, or an object-store URL such as s3://bucket/day/
@DB_OPTION
@click.option("--metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with call_id, agent_id, team, started_at, direction, ring_seconds (more columns kept).")
@RULEBOOK_OPTION
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Scoring processes (default: one per two cores; with --engine ray, one per cluster CPU).")
@click.option("--engine", "engine_name", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Score in local processes, or on a Ray cluster (pip install 'callqa[ray]').")
@click.option("--address", default="auto", show_default=True,
              help="With --engine ray: the cluster (auto or HOST:PORT), or 'local' for a private Ray.")
@click.option("--gpus-per-worker", type=click.FloatRange(0), default=0.0, show_default=True,
              help="With --engine ray: GPUs per worker, which then decodes with CUDA in float16.")
@click.option("--force", is_flag=True, help="Score every file again, even when up to date.")
@click.option("--quiet", is_flag=True, help="No progress bar (for cron); the summary is still printed.")
@click.option("--legs", "leg_names", default="{call}_agent,{call}_customer", show_default=True,
              help="How the two files of a call stored as two legs are named (agent,customer), or 'none'.")
@VERIFY_OPTION
@click.option("--redact-at-rest", is_flag=True,
              help="Store only masked text (【手机号】...): no raw personal number reaches the database. The rules "
                   "still run on what was said. Once set for a database it stays on.")
@roles_option
@model_options
def score(directory, db, metadata, rulebook, workers, engine_name, address, gpus_per_worker, force, quiet, leg_names,
          verify, redact_at_rest, roles, model, model_dir, beam_size, sequential, pack_regions):
    """Score every new or changed recording under DIRECTORY (a folder or an fsspec URL; wav, flac, mp3, ogg, opus, amr, awb, m4a, mp4, 3gp, aac, gsm, webm).

    Up-to-date calls are skipped, errored files retried; a killed run resumes
    where it stopped. Per-file problems are listed at the end and do not
    change the exit code.
    """
    from qa.scoring.batch import BatchError, LegPattern, run_batch
    from qa.scoring.db import StoreError
    from qa.scoring.engine_ray import RayEngine, RayEngineError, gpu_options
    from qa.scoring.metadata import MetadataError, load_metadata
    from qa.transcribe.model import ModelError

    book = _load_rulebook(rulebook)
    try:
        legs = LegPattern.parse(leg_names)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--legs") from exc
    options = build_options(model, beam_size, sequential, roles, pack_regions=pack_regions)
    engine = None
    if engine_name == "ray":  # Ray itself is imported only when there is work to send
        options = gpu_options(options, gpus_per_worker)
        engine = RayEngine(address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    try:
        meta = load_metadata(metadata) if metadata else None
    except MetadataError as exc:
        raise click.ClickException(str(exc)) from exc
    with _progress(quiet) as bar:
        task = bar.add_task("scoring", total=None, last="")

        def started(total: int) -> None:
            bar.update(task, total=total)

        def finished(result) -> None:
            mark = f"{result.score:.0f}" if result.status == "scored" else "error"
            bar.update(task, advance=1, last=f"{result.call_id} {mark}")

        try:
            summary = run_batch(directory, db, rulebook=book, options=options, metadata=meta,
                                workers=workers or default_workers(), engine=engine, on_start=started,
                                on_result=finished, force=force, model_dir=str(model_dir) if model_dir else None,
                                legs=legs, verify=verify, redact_at_rest=redact_at_rest)
        except (BatchError, StoreError, ModelError, RayEngineError) as exc:
            raise click.ClickException(str(exc)) from exc
    _print_batch(summary, db, book.version)


def _print_batch(s, db: Path, version: str) -> None:
    out = Console(soft_wrap=True)
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(s.why.items(), key=lambda kv: -kv[1]))
    out.print(f"[bold]callqa score[/]: {s.found} recordings, {s.scored} transcribed and scored"
              f"{f' ({why})' if why else ''}, {s.rescored} rescored (rulebook changed), {s.skipped} up to date, "
              f"{len(s.errors)} errors  (rulebook {version}, database {db})", highlight=False)
    out.print(f"mean score {_num(s.mean_score)}, pass rate {_pct(s.pass_rate)}, elapsed {s.elapsed_s:.1f} s, "
              f"audio {s.audio_s / 3600:.2f} h, {_num(s.audio_hours_per_wall_hour)} audio hours per wall hour")
    _print_hearing(out, s.heard, s.unheard)
    if s.redact_at_rest:
        out.print("personal numbers: masked at rest (no raw digits stored)", highlight=False)
    for path, problem in s.errors:
        out.print(f"[red]error[/] {path}: {problem.removeprefix(str(path) + ': ')}", highlight=False)
    for problem in s.metadata_problems:
        out.print(f"[yellow]metadata[/] {problem} (row skipped; the call is scored without it)", highlight=False)
    for leg in s.unpaired:
        out.print(f"[yellow]leg without its pair[/] {leg} (scored alone)", highlight=False)
    if s.not_audio:
        shown = ", ".join(s.not_audio[:NAMED])
        more = f" and {len(s.not_audio) - NAMED} more" if len(s.not_audio) > NAMED else ""
        out.print(f"{len(s.not_audio)} files skipped, not audio by their name: {shown}{more}", highlight=False)
    _print_verdicts(out, s.verdicts)


NAMED = 10  # files named one by one in a summary line


def _print_verdicts(out: Console, carried) -> None:
    """Verdicts on the calls written: how many stayed on their findings, and each one that matches nothing."""
    if not carried.kept and not carried.detached:
        return
    out.print(f"verdicts: {carried.kept} still on their findings, {len(carried.detached)} match no finding now "
              f"(kept in reviews; listed on the call's page)", highlight=False)
    for v in carried.detached:
        span = "-" if v.start_s is None else f"{v.start_s:.1f}-{(v.end_s if v.end_s is not None else v.start_s):.1f} s"
        out.print(f"[yellow]detached verdict[/] {v.call_id} {v.rule_id} {span}: {v.verdict} by {v.reviewer} "
                  f"(rulebook {v.rulebook_version or '-'}): {v.evidence or ''}", highlight=False)


@click.command()
@DB_OPTION
@RULEBOOK_OPTION
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Processes running the rules (default: one per core; only large stores use them).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@VERIFY_OPTION
def rescore(db, rulebook, workers, quiet, verify):
    """Apply the (changed) rulebook to every stored transcript again, without ASR."""
    from qa.scoring.db import StoreError
    from qa.scoring.rescore import run_rescore

    book = _load_rulebook(rulebook)
    if not db.exists():
        raise click.ClickException(f"{db}: no such database; score some calls first (callqa score DIR --db {db})")
    try:
        s = run_rescore(db, book, workers=workers or os.cpu_count() or 1, verify=verify)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    out = Console(soft_wrap=True)
    out.print(f"[bold]callqa rescore[/]: {s.rescored} calls under rulebook {book.version} in {s.elapsed_s:.2f} s "
              f"({_num(s.calls_per_second, '.0f')} calls/s); mean score {_num(s.mean_score)}, "
              f"pass rate {_pct(s.pass_rate)}")
    _print_hearing(out, s.heard, s.unheard)
    for call_id, problem in s.errors:
        out.print(f"[red]error[/] {call_id}: {problem}", highlight=False)
    _print_verdicts(out, s.verdicts)


def _print_hearing(out: Console, heard: int, unheard: int) -> None:
    """How many readings the audio answered, and how many were judged by text alone."""
    if heard or unheard:
        out.print(f"by sound: {heard} readings scored from the recordings, {unheard} judged by text alone "
                  f"(verification off, or the recording is gone or changed)", highlight=False)


REPORT_SQL = """
SELECT c.call_id, c.agent_id, c.team, CAST(c.started_at AS VARCHAR) AS started_at, c.status,
       s.score, s.passed, coalesce(s.rulebook_version, c.rulebook_version) AS rulebook_version,
       (SELECT string_agg(r.rule_id, ' ' ORDER BY r.rule_id) FROM rule_results r
         WHERE r.call_id = c.call_id AND r.outcome = 'fail') AS failed_rules,
       c.error
FROM calls c LEFT JOIN scores s USING (call_id)
ORDER BY c.call_id
"""


@click.command()
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def report(db, fmt):
    """One line per call: score, pass/fail, the failed rules, or the error."""
    from qa.scoring.db import StoreError, reading

    try:
        with reading(db) as con:
            cur = con.execute(REPORT_SQL)
            columns = [d[0] for d in cur.description]
            rows = [dict(zip(columns, row)) for row in cur.fetchall()]
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        Console(soft_wrap=True).print(table)
        scored = [r for r in rows if r["score"] is not None]
        if scored:
            mean = sum(r["score"] for r in scored) / len(scored)
            rate = sum(bool(r["passed"]) for r in scored) / len(scored)
            click.echo(f"{len(rows)} calls, {len(scored)} scored, mean score {mean:.1f}, pass rate {rate:.0%}")


@click.command("export-examples")
@DB_OPTION
@click.option("--rule", "rule_id", required=True, help="Rule id, e.g. phrase.forbidden.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the clips and examples.csv.")
@click.option("--pad-s", default=1.0, show_default=True, type=click.FloatRange(0, 30),
              help="Seconds of audio kept before and after each finding.")
def export_examples_command(db, rule_id, out_dir, pad_s):
    """Write a padded WAV clip of every finding of one rule, with a CSV for trainers (personal numbers masked)."""
    from qa.scoring.db import StoreError
    from qa.scoring.export import export_examples

    try:
        s = export_examples(db, rule_id, out_dir, pad_s=pad_s)
    except (StoreError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{s.clips} clips of {rule_id} in {out_dir} (index {s.csv_path.name})")
    for problem in s.problems:
        click.echo(f"problem: {problem}", err=True)
    if not s.clips and not s.problems:
        click.echo(f"no findings of rule {rule_id} in {db}", err=True)


COMMANDS = [score, rescore, report, export_examples_command]
