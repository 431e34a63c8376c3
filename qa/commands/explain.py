"""`callqa explain`: what produced one stored score, and whether it comes out the same again."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from qa.commands.score import DB_OPTION


def _print(out: Console, told) -> None:
    from qa.scoring.explain import pretty_json

    c = told.call
    out.print(f"[bold]{c['call_id']}[/]  {c['status']}  {c['path']}", highlight=False)
    if c["error"]:
        out.print(f"error: {c['error']}", highlight=False)
    out.print(f"audio sha256 {c['sha256'] or '-'}, {c['duration_s'] or 0:.1f} s, {c['channels'] or '-'} channel(s), "
              f"{c['sample_rate'] or '-'} Hz; scored at {c['scored_at']}", highlight=False)
    out.print(f"callqa {c['callqa_version'] or '- (before 0.2)'}; model {c['model_name'] or '-'} "
              f"(weights sha256 {c['model_sha256'] or '-'})", highlight=False)
    if c["channel_roles"]:
        sure = "" if c["roles_confidence"] is None else f", confidence {c['roles_confidence']:.2f}"
        out.print(f"channels: {c['channel_roles']} ({c['roles_source']}{sure})", highlight=False)
    book = told.rulebook
    version = told.score["rulebook_version"] if told.score else c["rulebook_version"]
    where = f"{book.name}, from {', '.join(book.sources) or 'the store'}" if book else "not stored in this database"
    out.print(f"rulebook {version or '-'} ({where})", highlight=False)
    out.print("ASR options:", pretty_json(c["options_json"]), highlight=False)
    out.print("signal options:", pretty_json(c["signal_options_json"]), highlight=False)
    if c["metadata_json"]:
        out.print("metadata:", pretty_json(c["metadata_json"]), highlight=False)
    if told.score:
        out.print(f"score {told.score['score']:g}, {'passed' if told.score['passed'] else 'failed'}")
    for r in told.rule_results:
        out.print(f"  {r['rule_id']}: {r['outcome']} -{r['points']:g}  {r['detail'] or ''}", highlight=False)
    for f in told.findings:
        out.print(f"    finding {f['finding_id']} {f['rule_id']} {f['start_s']:.2f}-{f['end_s']:.2f} s "
                  f"[{f['message'] or '-'}]: {f['evidence']}", highlight=False)
    if c.get("verify") is False:
        out.print("by sound: off (scored with --no-verify)")
    elif told.heard or c.get("unheard"):
        out.print(f"by sound: {len(told.heard)} readings asked of the audio, {c.get('unheard') or 0} judged by text "
                  "alone (best per span first)", highlight=False)
    for h in told.heard:
        out.print(f"    {h['start_s']:.2f}-{h['end_s']:.2f} s ch{h['channel']} {h['score']:+.2f} "
                  f"{h['wording']!r} in {h['reading']!r} (decoder: {h['hypothesis']!r})", highlight=False)


@click.command()
@click.argument("call_id")
@DB_OPTION
@click.option("--reproduce", is_flag=True,
              help="Run the stored rulebook over the stored transcript again and compare; exit 1 on a difference.")
@click.option("--json", "as_json", is_flag=True, help="Print the provenance and results as JSON.")
def explain(call_id: str, db: Path, reproduce: bool, as_json: bool) -> None:
    """Everything that produced CALL_ID's stored score: audio hash, ASR and signal options, model,
    callqa version, rulebook (as stored), rule results and findings."""
    from qa.scoring.db import StoreError
    from qa.scoring.explain import ExplainError, explain_call, reproduce_call

    try:
        told = explain_call(db, call_id)
        again = reproduce_call(db, call_id) if reproduce else None
    except (ExplainError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        doc = {"call": told.call, "score": told.score, "rule_results": told.rule_results, "findings": told.findings,
               "heard": told.heard,
               "rulebook_sources": list(told.rulebook.sources) if told.rulebook else None}
        if again is not None:
            doc["reproduced"] = {"same": again.same, "differences": again.differences}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    else:
        out = Console(soft_wrap=True)
        _print(out, told)
        if again is not None:
            if again.same:
                out.print(f"[green]reproduced[/]: the stored rulebook over the stored transcript gives the same "
                          f"score ({again.score:g}), rule results and findings")
            for line in again.differences:
                out.print(f"[red]differs[/] {line}", highlight=False)
    if again is not None and not again.same:
        raise SystemExit(1)


COMMANDS = [explain]
