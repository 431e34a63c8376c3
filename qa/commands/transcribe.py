"""`callqa transcribe`: print one call's utterances with times and roles."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from qa.records import TranscribeOptions
from qa.transcribe.audio import AudioError
from qa.transcribe.model import EMBEDDED, ModelError


ROLES_HELP = ("Role of each stereo channel, left first, or 'auto' to take as the agent the channel that says the "
              "service lines (greeting, offer, closing); unsure calls keep agent,customer and are marked. "
              "Mono calls are attributed by speaker.")


def roles_option(f):
    return click.option("--roles", default="agent,customer", show_default=True, callback=_check_roles,
                        help=ROLES_HELP)(f)


def _check_roles(ctx, param, value: str) -> str:
    roles = tuple(r.strip() for r in value.split(","))
    if roles == ("auto",) or (len(roles) == 2 and set(roles) == {"agent", "customer"}):
        return value
    raise click.BadParameter("give 'agent,customer', 'customer,agent' or 'auto'")


def model_options(f):
    """--model/--model-dir/--beam-size/--sequential, shared by every command that runs ASR."""
    f = click.option("--sequential", is_flag=True, help="Plain sequential decoding instead of the batched pipeline.")(f)
    f = click.option("--pack-regions", is_flag=True,
                     help="Decode each channel's speech packed into few windows: about 2x faster, slightly less accurate.")(f)
    f = click.option("--beam-size", default=5, show_default=True, type=click.IntRange(1, 10))(f)
    f = click.option("--model-dir", type=click.Path(file_okay=False), envvar="CALLQA_MODEL_DIR",
                     help="Where the embedded model is assembled (default: the user cache).")(f)
    f = click.option("--model", default=EMBEDDED, show_default=True,
                     help="Embedded model, a CTranslate2 Whisper directory, or a faster-whisper model name (needs network).")(f)
    return f


def build_options(model: str, beam_size: int, sequential: bool, roles: str = "agent,customer",
                  pack_regions: bool = False) -> TranscribeOptions:
    return TranscribeOptions(model=model, beam_size=beam_size, batched=not sequential, pack_regions=pack_regions,
                             channel_roles=tuple(r.strip() for r in roles.split(",")))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the transcript and timeline as JSON.")
@roles_option
@click.option("--ring-seconds", type=float, help="Ring time from the switch (CDR); overrides ringback detection.")
@model_options
def transcribe(file, as_json, roles, ring_seconds, model, model_dir, beam_size, sequential, pack_regions):
    """Transcribe one recording: utterances by role with word times, rings and answer onset."""
    from qa.transcribe.pipeline import Transcriber, transcript_to_dict

    options = build_options(model, beam_size, sequential, roles, pack_regions)
    try:
        transcript = Transcriber(options, model_dir=model_dir).transcribe_file(file, ring_seconds=ring_seconds)
    except (AudioError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(transcript_to_dict(transcript), ensure_ascii=False, indent=1))
        return
    tl = transcript.timeline
    console = Console()
    onset = f"{tl.answer_onset_s:.1f} s" if tl and tl.answer_onset_s is not None else "-"
    console.print(f"[bold]{file}[/]  {transcript.duration_s:.1f} s, {transcript.channels} ch, "
                  f"{transcript.sample_rate} Hz, rings {tl.ring_count if tl else '-'} ({tl.ring_source if tl else '-'}), "
                  f"answered at {onset}")
    table = Table("start", "end", "role", "text", box=None)
    for u in transcript.utterances:
        table.add_row(f"{u.start_s:7.2f}", f"{u.end_s:7.2f}", u.role, u.text)
    console.print(table)
    if not transcript.utterances:
        console.print("no speech recognized (a silent line?)")


COMMANDS = [transcribe]
