"""The rulebook: rules as data (TOML), looked up by id.

The default rulebook ships beside this module. A user file extends or
overrides it per rule and per key; a phrase group in a user file replaces the
default group, or adds to it with ``extend = true``.

Every setting has one place in the files:
- ``[kinds.<kind>.params]`` holds each check kind's param defaults; a rule's
  own ``params`` override them for that rule alone;
- ``[settings]`` holds values several rules share (the ring limit that the
  rings rule enforces and the late-apology rule starts from); a param names one
  with ``{ setting = "name" }``;
- ``[groups]`` holds phrase groups several rules share; a rule's group names
  them with ``{ shared = ["name"], items = [...] }``;
- ``[scorecard]`` holds full marks, the pass mark, the points policy and
  whether a critical finding fails the call.

What a kind reads (its phrase groups, its params with types and ranges) is
declared once, beside its check (`qa.scoring.checks.KINDS`). Every problem is
raised as a RulebookError naming the file, line and problem before any call is
scored.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

DEFAULT_PATH = Path(__file__).with_name("default_rulebook.toml")

SEVERITIES = ("minor", "major", "critical")
ROLES = ("agent", "customer", "unknown")
POINTS_POLICIES = ("at_most", "exact")
RULE_FIELDS = ("kind", "title", "source", "points", "critical", "severity", "roles")
RULE_KEYS = frozenset(RULE_FIELDS + ("phrases", "params", "enabled"))
TOP_KEYS = frozenset({"name", "slots", "settings", "groups", "kinds", "scorecard", "rules"})
SCORECARD_KEYS = {"full_marks": (int, float), "pass_mark": (int, float), "points": str, "critical_fails_call": bool}
PHRASE_KEYS = frozenset({"text", "severity", "exclusions", "roles", "innocent"})
SLOT_RE = re.compile(r"\{(\w+)\}")


class RulebookError(Exception):
    """A rulebook file that cannot be used; the message names file, line and problem."""

    def __init__(self, path: str | Path, line: int | None, problem: str):
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class PhraseSpec:
    text: str  # may contain slots {company} {agent_no} {holiday}
    severity: str = "major"  # minor | major | critical
    exclusions: tuple[str, ...] = ()  # legit contexts that cancel a hit
    roles: tuple[str, ...] = ()  # empty = the rule's roles
    # Innocent wordings that sound the same (为什么事 for 喂,什么事): by sound the phrase must beat them.
    innocent: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    kind: str
    title: str
    source: str  # seed document + clause, shown to inspectors
    points: float
    critical: bool
    severity: str
    roles: tuple[str, ...]
    phrases: dict[str, tuple[PhraseSpec, ...]] = field(default_factory=dict)
    params: dict[str, float | int | str | bool] = field(default_factory=dict)  # resolved: every declared param
    enabled: bool = True


@dataclass(frozen=True)
class Scorecard:
    """How rule results become a score; data of the rulebook, never of the code."""

    full_marks: float
    pass_mark: float
    points: str  # at_most: enabled rules' points add up to at most full_marks; exact: to full_marks
    critical_fails_call: bool  # a critical rule or finding sets the score to 0 (一票否决)


@dataclass(frozen=True)
class Rulebook:
    name: str
    version: str  # sha256 hex (first 12) of the canonical resolved content
    rules: dict[str, RuleSpec]
    sources: tuple[str, ...]  # files merged, default first
    slots: dict[str, tuple[str, ...]]
    scorecard: Scorecard | None = None
    texts: tuple[str, ...] = ()  # each source file's text, as read: stored with the scores

    def resolved_json(self) -> str:
        """The canonical resolved content that `version` hashes (and `rulebook_from_json` reads)."""
        return _canonical(self.name, self.rules, self.slots, self.scorecard)


# ----------------------------------------------------------------------------- locating errors

def _header_re(table: str, name: str | None) -> re.Pattern:
    if name is None:
        return re.compile(r"^\s*\[+\s*" + re.escape(table) + r"\s*\]")
    return re.compile(r"^\s*\[+\s*" + re.escape(table) + r'\.["\']?' + re.escape(name) + r'["\']?(\.|\s*\])')


def _locate(text: str, table: str | None, name: str | None, key: str | None) -> int | None:
    """Line of `key` inside table `table.name` (tomllib gives no positions)."""
    lines = text.splitlines()
    start = 0
    if table is not None:
        header = _header_re(table, name)
        hits = [i for i, ln in enumerate(lines) if header.search(ln)]
        if not hits:
            return None
        start = hits[0]
        if key is None:
            return start + 1
    if key is not None:
        key_re = re.compile(r'^\s*(["\']?)' + re.escape(key) + r'\1\s*=|[.{,]\s*["\']?' + re.escape(key)
                            + r'["\']?\s*[=\]]')
        own = re.compile(re.escape(table) + r'\.["\']?' + re.escape(name) + r'["\']?') if table and name else None
        for i in range(start, len(lines)):
            probe = own.sub("", lines[i], count=1) if own else lines[i]  # the id may end in .key
            if key_re.search(probe):
                return i + 1
    return start + 1 if table is not None else None


@dataclass(frozen=True)
class _File:
    """One rulebook file: errors are located in its text."""

    path: Path
    text: str

    def fail(self, table: str | None, name: str | None, key: str | None, problem: str) -> None:
        raise RulebookError(self.path, _locate(self.text, table, name, key), problem)


def _read(path: Path) -> tuple[dict[str, Any], _File]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulebookError(path, None, f"cannot read rulebook: {exc}") from exc
    try:
        return tomllib.loads(text), _File(path, text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise RulebookError(path, line, f"TOML syntax error: {exc}") from exc


# ----------------------------------------------------------------------------- raw schema checks

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Checker:
    """Schema checks of one file's raw tables, errors located in its text."""

    def __init__(self, file: _File):
        self.file = file

    def fail(self, rule_id: str | None, key: str | None, problem: str) -> None:
        self.file.fail("rules" if rule_id else None, rule_id, key, problem)

    def top(self, doc: dict[str, Any]) -> None:
        f = self.file
        for key in doc:
            if key not in TOP_KEYS:
                f.fail(None, None, key, f"unknown top-level key {key!r} (expected {', '.join(sorted(TOP_KEYS))})")
        if not isinstance(doc.get("name", ""), str):
            f.fail(None, None, "name", "name must be text")
        for key in ("slots", "settings", "groups", "kinds", "scorecard", "rules"):
            if not isinstance(doc.get(key, {}), dict):
                f.fail(None, None, key, f"{key} must be a table")
        for slot, values in doc.get("slots", {}).items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                f.fail("slots", None, slot, f"slot {slot!r} must be a list of texts")
        for name, value in doc.get("settings", {}).items():
            if not isinstance(value, (int, float, str, bool)):
                f.fail("settings", None, name, f"setting {name!r} must be a number, text or bool")
        for name, value in doc.get("groups", {}).items():
            self.group(None, name, value, where=f"shared group {name!r}", table=("groups", None), shared=False)
        for kind, raw in doc.get("kinds", {}).items():
            if not isinstance(raw, dict) or set(raw) - {"params"} or not isinstance(raw.get("params", {}), dict):
                f.fail("kinds", kind, None, f"kinds.{kind} takes only a params table")
            for name, value in raw.get("params", {}).items():
                self.param_value(("kinds", kind), name, value, f"kind {kind!r}")
        card = doc.get("scorecard", {})
        for key, value in card.items():
            want = SCORECARD_KEYS.get(key)
            if want is None:
                f.fail("scorecard", None, key, f"scorecard: unknown key {key!r} (expected {', '.join(SCORECARD_KEYS)})")
            if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
                kind = "a number" if want == (int, float) else getattr(want, "__name__", want)
                f.fail("scorecard", None, key, f"scorecard: {key} must be {kind}, got {value!r}")
        if "points" in card and card["points"] not in POINTS_POLICIES:
            f.fail("scorecard", None, "points", f"scorecard: points must be one of {', '.join(POINTS_POLICIES)}")

    def param_value(self, table: tuple[str, str], name: str, value: Any, where: str) -> None:
        if isinstance(value, dict):
            if set(value) != {"setting"} or not isinstance(value["setting"], str):
                self.file.fail(*table, name, f"{where}: param {name} is a value or {{ setting = \"name\" }}")
        elif not isinstance(value, (int, float, str, bool)):
            self.file.fail(*table, name, f"{where}: param {name} must be a number, text or bool")

    def rule(self, rule_id: str, raw: Any, kinds: Mapping[str, Any]) -> None:
        if not isinstance(raw, dict):
            self.fail(None, None, f"rule {rule_id!r} must be a table")
        for key in raw:
            if key not in RULE_KEYS:
                self.fail(rule_id, key, f"rule {rule_id!r}: unknown key {key!r}")
        if "kind" in raw and raw["kind"] not in kinds:
            self.fail(rule_id, "kind", f"rule {rule_id!r}: unknown kind {raw['kind']!r} "
                                       f"(known: {', '.join(sorted(kinds))})")
        types = {"kind": str, "title": str, "source": str, "critical": bool, "severity": str,
                 "enabled": bool, "roles": list, "params": dict, "phrases": dict}
        for key, want in types.items():
            if key in raw and not isinstance(raw[key], want):
                self.fail(rule_id, key, f"rule {rule_id!r}: {key} must be {want.__name__}, "
                                        f"got {type(raw[key]).__name__}")
        if "points" in raw and (not _is_number(raw["points"]) or raw["points"] < 0):
            self.fail(rule_id, "points", f"rule {rule_id!r}: points must be a number >= 0")
        if raw.get("severity", "major") not in SEVERITIES:
            self.fail(rule_id, "severity", f"rule {rule_id!r}: severity must be one of {SEVERITIES}")
        for role in raw.get("roles", []):
            if role not in ROLES:
                self.fail(rule_id, "roles", f"rule {rule_id!r}: unknown role {role!r}")
        for name, value in raw.get("params", {}).items():
            self.param_value(("rules", rule_id), name, value, f"rule {rule_id!r}")
        for group, value in raw.get("phrases", {}).items():
            self.group(rule_id, group, value, where=f"rule {rule_id!r} group {group!r}",
                       table=("rules", rule_id), shared=True)

    def group(self, rule_id: str | None, group: str, value: Any, *, where: str, table: tuple, shared: bool) -> None:
        items = value
        if isinstance(value, dict):
            allowed = {"extend", "items"} | ({"shared"} if shared else set())
            refs = value.get("shared", [])
            if set(value) - allowed or not isinstance(value.get("extend", False), bool) \
                    or not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                forms = "extend = true|false, items = [...]" + (", shared = [\"group\", ...]" if shared else "")
                self.file.fail(*table, group, f"{where}: a phrase group table takes only {forms}")
            items = value.get("items", [])
        if not isinstance(items, list):
            self.file.fail(*table, group, f"{where}: must be a list of phrases")
        for item in items:
            self.phrase(table, group, item, where)

    def phrase(self, table: tuple, group: str, item: Any, where: str) -> None:
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            self.file.fail(*table, group, f"{where}: a phrase is a text or a table with text = \"...\"")
        for key in item:
            if key not in PHRASE_KEYS:
                self.file.fail(*table, group, f"{where}: unknown phrase key {key!r}")
        if item.get("severity", "major") not in SEVERITIES:
            self.file.fail(*table, group, f"{where}: severity of {item['text']!r} must be one of {SEVERITIES}")
        for key in ("exclusions", "roles", "innocent"):
            value = item.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.file.fail(*table, group, f"{where}: {key} of {item['text']!r} must be a list of texts")
        for role in item.get("roles", []):
            if role not in ROLES:
                self.file.fail(*table, group, f"{where}: unknown role {role!r}")


# ----------------------------------------------------------------------------- merging

def _as_group(spec: Any) -> dict[str, list]:
    """A raw phrase group in one form: {"shared": [...], "items": [...]}."""
    if isinstance(spec, dict):
        return {"shared": list(spec.get("shared", [])), "items": list(spec.get("items", []))}
    return {"shared": [], "items": list(spec)}


def _merge_groups(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    groups = dict(base)
    for name, spec in over.items():
        new = _as_group(spec)
        if isinstance(spec, dict) and spec.get("extend", False):
            old = groups.get(name, {"shared": [], "items": []})
            new = {"shared": old["shared"] + new["shared"], "items": old["items"] + new["items"]}
        groups[name] = new
    return groups


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if key == "params":
            merged["params"] = {**base.get("params", {}), **value}
        elif key == "phrases":
            merged["phrases"] = _merge_groups(base.get("phrases", {}), value)
        else:
            merged[key] = value
    return merged


def _phrase(item: Any) -> PhraseSpec:
    if isinstance(item, str):
        return PhraseSpec(text=item)
    return PhraseSpec(text=item["text"], severity=item.get("severity", "major"),
                      exclusions=tuple(item.get("exclusions", ())), roles=tuple(item.get("roles", ())),
                      innocent=tuple(item.get("innocent", ())))


@dataclass
class _Merged:
    """Every file merged, with the file (and table) that last set each key, for errors."""

    name: str = "default"
    slots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, dict[str, list]] = field(default_factory=dict)
    kind_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    scorecard: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (table, name, key) -> the file that set it last
    origin: dict[tuple[str | None, str | None, str | None], _File] = field(default_factory=dict)
    points_origin: _File | None = None

    def fail(self, table: str | None, name: str | None, key: str | None, problem: str) -> None:
        file = self.origin.get((table, name, key)) or self.origin.get((table, name, None)) \
            or self.origin[(None, None, None)]
        file.fail(table, name, key, problem)

    def add(self, doc: dict[str, Any], file: _File) -> None:
        self.origin[(None, None, None)] = file
        self.name = doc.get("name", self.name)
        for slot, values in doc.get("slots", {}).items():
            self.slots[slot] = tuple(values)
        for name, value in doc.get("settings", {}).items():
            self.settings[name] = value
            self.origin[("settings", None, name)] = file
        self.groups = _merge_groups(self.groups, doc.get("groups", {}))
        for name in doc.get("groups", {}):
            self.origin[("groups", None, name)] = file
        for kind, raw in doc.get("kinds", {}).items():
            self.kind_params.setdefault(kind, {}).update(raw.get("params", {}))
            for name in raw.get("params", {}):
                self.origin[("kinds", kind, name)] = file
        for key, value in doc.get("scorecard", {}).items():
            self.scorecard[key] = value
            self.origin[("scorecard", None, key)] = file
        for rule_id, raw in doc.get("rules", {}).items():
            self.rules[rule_id] = _merge(self.rules.get(rule_id, {}), raw)
            self.origin[("rules", rule_id, None)] = file
            for key in list(raw) + list(raw.get("phrases", {})) + list(raw.get("params", {})):
                self.origin[("rules", rule_id, key)] = file
            if "points" in raw or "enabled" in raw:
                self.points_origin = file


# ----------------------------------------------------------------------------- resolving

def _resolve_param(m: _Merged, rule_id: str, kind: str, name: str, spec: Any) -> Any:
    """The value of one declared param: the rule's, else the kind's default; a setting when named."""
    rule_params = m.rules[rule_id].get("params", {})
    table = ("rules", rule_id) if name in rule_params else ("kinds", kind)
    value = rule_params.get(name, m.kind_params.get(kind, {}).get(name))
    if value is None:
        m.fail("rules", rule_id, "params", f"rule {rule_id!r} (kind {kind}): param {name!r} is missing "
                                           f"(set it in the rule or in [kinds.{kind}.params])")
    if isinstance(value, dict):
        setting = value["setting"]
        if setting not in m.settings:
            m.fail(*table, name, f"rule {rule_id!r}: param {name} names setting {setting!r}, "
                                 f"which [settings] does not have")
        value, table = m.settings[setting], ("settings", None)
        name_at = setting
    else:
        name_at = name
    problem = spec.problem(value)
    if problem:
        m.fail(*table, name_at, f"rule {rule_id!r}: param {name} {problem}")
    return spec.convert(value)


def _resolve_group(m: _Merged, rule_id: str, group: str, raw: dict[str, list]) -> tuple[PhraseSpec, ...]:
    items = []
    for ref in raw["shared"]:
        if ref not in m.groups:
            m.fail("rules", rule_id, group, f"rule {rule_id!r} group {group!r}: no shared group {ref!r} in [groups]")
        items += m.groups[ref]["items"]
    return tuple(_phrase(i) for i in items + raw["items"])


def _build(m: _Merged, rule_id: str, kinds: Mapping[str, Any]) -> RuleSpec:
    raw = m.rules[rule_id]
    for key in RULE_FIELDS:
        if key not in raw:
            m.fail("rules", rule_id, None, f"rule {rule_id!r}: missing required key {key!r}")
    kind_name = raw["kind"]
    kind = kinds[kind_name]
    declared = set(kind.groups) | set(kind.optional_groups)
    for group in raw.get("phrases", {}):
        if group not in declared:
            m.fail("rules", rule_id, group, f"rule {rule_id!r} (kind {kind_name}): unknown phrase group {group!r} "
                                            f"(known: {', '.join(sorted(declared))})")
    phrases = {g: _resolve_group(m, rule_id, g, spec) for g, spec in raw.get("phrases", {}).items()}
    for group in kind.groups:
        if not phrases.get(group):
            at = group if group in phrases else "phrases"
            m.fail("rules", rule_id, at, f"rule {rule_id!r} (kind {kind_name}): phrase group {group!r} "
                                         f"is missing or empty")
    for name in raw.get("params", {}):
        if name not in kind.params:
            m.fail("rules", rule_id, name, f"rule {rule_id!r} (kind {kind_name}): unknown param {name!r} "
                                           f"(known: {', '.join(sorted(kind.params))})")
    params = {name: _resolve_param(m, rule_id, kind_name, name, spec) for name, spec in kind.params.items()}
    for group, specs in phrases.items():
        for spec in specs:
            for slot in SLOT_RE.findall(spec.text):
                if slot not in m.slots:
                    m.fail("rules", rule_id, group, f"rule {rule_id!r}: phrase {spec.text!r} uses unknown slot "
                                                    f"{{{slot}}}")
    return RuleSpec(
        rule_id=rule_id, kind=kind_name, title=raw["title"], source=raw["source"],
        points=float(raw["points"]), critical=raw["critical"], severity=raw["severity"],
        roles=tuple(raw["roles"]), phrases=phrases, params=params, enabled=raw.get("enabled", True),
    )


def _scorecard(m: _Merged, rules: dict[str, RuleSpec]) -> Scorecard:
    for key in SCORECARD_KEYS:
        if key not in m.scorecard:
            m.fail("scorecard", None, None, f"scorecard: missing required key {key!r}")
    card = Scorecard(float(m.scorecard["full_marks"]), float(m.scorecard["pass_mark"]), m.scorecard["points"],
                     m.scorecard["critical_fails_call"])
    if card.full_marks <= 0 or not 0 <= card.pass_mark <= card.full_marks:
        m.fail("scorecard", None, "pass_mark", f"scorecard: pass_mark must lie from 0 to full_marks "
                                               f"({card.full_marks:g}), and full_marks must be above 0")
    total = sum(r.points for r in rules.values() if r.enabled)
    over = total > card.full_marks + 1e-9
    short = card.points == "exact" and total < card.full_marks - 1e-9
    if over or short:
        file = m.points_origin or m.origin[(None, None, None)]
        changed = next((rid for rid in rules if m.origin.get(("rules", rid, "points")) is file), None)
        want = "add up to" if card.points == "exact" else "add up to at most"
        file.fail("rules" if changed else "scorecard", changed, "points",
                  f"the enabled rules' points add up to {total:g}, but must {want} the score card's "
                  f"full_marks ({card.full_marks:g}; scorecard points = \"{card.points}\")")
    return card


def _canonical(name: str, rules: dict[str, RuleSpec], slots: dict[str, tuple[str, ...]],
               scorecard: Scorecard | None) -> str:
    doc = {"name": name, "slots": slots, "rules": {rid: asdict(r) for rid, r in rules.items()},
           "scorecard": asdict(scorecard) if scorecard else None}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, default=list)


def _version(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """The default rulebook, extended and overridden by `path` when given."""
    from qa.scoring.checks import KINDS  # the checks import this module's records

    files = [DEFAULT_PATH] + ([Path(path)] if path is not None else [])
    merged = _Merged()
    texts = []
    for file in files:
        doc, source = _read(file)
        checker = _Checker(source)
        checker.top(doc)
        for rule_id, raw in doc.get("rules", {}).items():
            checker.rule(rule_id, raw, KINDS)
        for kind in doc.get("kinds", {}):
            if kind not in KINDS:
                source.fail("kinds", kind, None, f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
            for name in doc["kinds"][kind].get("params", {}):
                if name not in KINDS[kind].params:
                    source.fail("kinds", kind, name, f"kind {kind!r}: unknown param {name!r} "
                                                     f"(known: {', '.join(sorted(KINDS[kind].params))})")
        merged.add(doc, source)
        texts.append(source.text)
    built = {rid: _build(merged, rid, KINDS) for rid in merged.rules}
    card = _scorecard(merged, built)
    canonical = _canonical(merged.name, built, merged.slots, card)
    return Rulebook(name=merged.name, version=_version(canonical), rules=built,
                    sources=tuple(str(f) for f in files), slots=merged.slots, scorecard=card, texts=tuple(texts))


def rulebook_from_json(text: str, sources: tuple[str, ...] = (), texts: tuple[str, ...] = ()) -> Rulebook:
    """A rulebook back from its `resolved_json` (as stored with the scores); its version is recomputed."""
    doc = json.loads(text)
    rules = {}
    for rid, r in doc["rules"].items():
        phrases = {g: tuple(PhraseSpec(p["text"], p["severity"], tuple(p["exclusions"]), tuple(p["roles"]),
                                       tuple(p.get("innocent", ()))) for p in items) for g, items in r["phrases"].items()}
        rules[rid] = RuleSpec(rid, r["kind"], r["title"], r["source"], float(r["points"]), r["critical"],
                              r["severity"], tuple(r["roles"]), phrases, dict(r["params"]), r["enabled"])
    slots = {k: tuple(v) for k, v in doc["slots"].items()}
    card = Scorecard(**doc["scorecard"]) if doc.get("scorecard") else None
    canonical = _canonical(doc["name"], rules, slots, card)
    return Rulebook(doc["name"], _version(canonical), rules, tuple(sources), slots, card, tuple(texts))
