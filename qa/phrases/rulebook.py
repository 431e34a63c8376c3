"""The rulebook: rules as data (TOML), looked up by id.

The default rulebook ships beside this module. A user file extends or
overrides it per rule and per key; a phrase group in a user file replaces the
default group, or adds to it with ``extend = true``. Every problem is raised as
a RulebookError naming the file and line before any call is scored.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("default_rulebook.toml")

KINDS = frozenset({"rings", "late_apology", "greeting", "closing", "forbidden",
                   "silent_line", "hold", "interruption", "speech_rate"})
SEVERITIES = ("minor", "major", "critical")
ROLES = ("agent", "customer", "unknown")
# What each check kind reads; a rule of that kind without them cannot be scored.
REQUIRED = {
    "rings": ((), ("max_rings",)),
    "late_apology": (("apology",), ("window_s",)),
    "greeting": (("greeting",), ("window_s",)),
    "closing": (("offer_help", "farewell"), ("window_s",)),
    "forbidden": (("forbidden",), ()),
    "silent_line": (("greeting", "silent_closing", "threat"), ("pause_s", "max_customer_speech_s")),
    "hold": (("wait_request", "after_hold"), ("min_hold_s", "window_s")),
    "interruption": ((), ("min_overlap_s",)),
    "speech_rate": ((), ("max_chars_per_minute", "min_speech_s")),
}
RULE_FIELDS = ("kind", "title", "source", "points", "critical", "severity", "roles")
RULE_KEYS = frozenset(RULE_FIELDS + ("phrases", "params", "enabled"))
PHRASE_KEYS = frozenset({"text", "severity", "exclusions", "roles"})
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
    params: dict[str, float | int | str | bool] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class Rulebook:
    name: str
    version: str  # sha256 hex (first 12) of the canonical merged content
    rules: dict[str, RuleSpec]
    sources: tuple[str, ...]  # files merged, default first
    slots: dict[str, tuple[str, ...]]


def _read(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulebookError(path, None, f"cannot read rulebook: {exc}") from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise RulebookError(path, line, f"TOML syntax error: {exc}") from exc


def _locate(text: str, rule_id: str | None, key: str | None) -> int | None:
    """Line of `key` inside rule `rule_id`'s tables (tomllib gives no positions)."""
    lines = text.splitlines()
    start = 0
    if rule_id is not None:
        quoted = re.compile(r'^\s*\[+\s*rules\.["\']?' + re.escape(rule_id) + r'["\']?(\.|\s*\])')
        hits = [i for i, ln in enumerate(lines) if quoted.search(ln)]
        if not hits:
            return None
        start = hits[0]
        if key is None:
            return start + 1
    if key is not None:
        key_re = re.compile(r'^\s*(["\']?)' + re.escape(key) + r'\1\s*=|\.["\']?' + re.escape(key) + r'["\']?\s*\]')
        own = re.compile(r'rules\.["\']?' + re.escape(rule_id) + r'["\']?') if rule_id else None
        for i in range(start, len(lines)):
            probe = own.sub("", lines[i], count=1) if own else lines[i]  # the id may end in .key
            if key_re.search(probe):
                return i + 1
    return start + 1 if rule_id is not None else None


class _Checker:
    """Schema checks of one file's raw tables, errors located in its text."""

    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text

    def fail(self, rule_id: str | None, key: str | None, problem: str) -> None:
        raise RulebookError(self.path, _locate(self.text, rule_id, key), problem)

    def rule(self, rule_id: str, raw: Any) -> None:
        if not isinstance(raw, dict):
            self.fail(None, None, f"rule {rule_id!r} must be a table")
        for key in raw:
            if key not in RULE_KEYS:
                self.fail(rule_id, key, f"rule {rule_id!r}: unknown key {key!r}")
        if "kind" in raw and raw["kind"] not in KINDS:
            self.fail(rule_id, "kind", f"rule {rule_id!r}: unknown kind {raw['kind']!r} "
                                       f"(known: {', '.join(sorted(KINDS))})")
        types = {"kind": str, "title": str, "source": str, "critical": bool, "severity": str,
                 "enabled": bool, "roles": list, "params": dict, "phrases": dict}
        for key, want in types.items():
            if key in raw and not isinstance(raw[key], want):
                self.fail(rule_id, key, f"rule {rule_id!r}: {key} must be {want.__name__}, "
                                        f"got {type(raw[key]).__name__}")
        if "points" in raw and (isinstance(raw["points"], bool)
                                or not isinstance(raw["points"], (int, float)) or raw["points"] < 0):
            self.fail(rule_id, "points", f"rule {rule_id!r}: points must be a number >= 0")
        if raw.get("severity", "major") not in SEVERITIES:
            self.fail(rule_id, "severity", f"rule {rule_id!r}: severity must be one of {SEVERITIES}")
        for role in raw.get("roles", []):
            if role not in ROLES:
                self.fail(rule_id, "roles", f"rule {rule_id!r}: unknown role {role!r}")
        for name, value in raw.get("params", {}).items():
            if not isinstance(value, (int, float, str, bool)):
                self.fail(rule_id, name, f"rule {rule_id!r}: param {name} must be a number, text or bool")
        similarity = raw.get("params", {}).get("min_similarity")
        if similarity is not None and (isinstance(similarity, bool) or not isinstance(similarity, (int, float))
                                       or not 0.5 <= similarity <= 1.0):
            self.fail(rule_id, "min_similarity", f"rule {rule_id!r}: min_similarity must be a number "
                                                 f"from 0.5 to 1.0 (1.0: exact wording only)")
        for group, value in raw.get("phrases", {}).items():
            self.group(rule_id, group, value)

    def group(self, rule_id: str, group: str, value: Any) -> None:
        items = value
        if isinstance(value, dict):
            unknown = set(value) - {"extend", "items"}
            if unknown or not isinstance(value.get("extend", False), bool):
                self.fail(rule_id, group, f"rule {rule_id!r}: phrase group {group!r} table takes "
                                          f"only extend = true|false and items = [...]")
            items = value.get("items", [])
        if not isinstance(items, list):
            self.fail(rule_id, group, f"rule {rule_id!r}: phrase group {group!r} must be a list")
        for item in items:
            self.phrase(rule_id, group, item)

    def phrase(self, rule_id: str, group: str, item: Any) -> None:
        where = f"rule {rule_id!r} group {group!r}"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            self.fail(rule_id, group, f"{where}: a phrase is a text or a table with text = \"...\"")
        for key in item:
            if key not in PHRASE_KEYS:
                self.fail(rule_id, group, f"{where}: unknown phrase key {key!r}")
        if item.get("severity", "major") not in SEVERITIES:
            self.fail(rule_id, group, f"{where}: severity of {item['text']!r} must be one of {SEVERITIES}")
        for key in ("exclusions", "roles"):
            value = item.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.fail(rule_id, group, f"{where}: {key} of {item['text']!r} must be a list of texts")
        for role in item.get("roles", []):
            if role not in ROLES:
                self.fail(rule_id, group, f"{where}: unknown role {role!r}")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if key == "params":
            merged["params"] = {**base.get("params", {}), **value}
        elif key == "phrases":
            groups = dict(base.get("phrases", {}))
            for group, spec in value.items():
                if isinstance(spec, dict):
                    old = groups.get(group, []) if spec.get("extend", False) else []
                    groups[group] = list(old) + list(spec.get("items", []))
                else:
                    groups[group] = list(spec)
            merged["phrases"] = groups
        else:
            merged[key] = value
    return merged


def _phrase(item: Any) -> PhraseSpec:
    if isinstance(item, str):
        return PhraseSpec(text=item)
    return PhraseSpec(text=item["text"], severity=item.get("severity", "major"),
                      exclusions=tuple(item.get("exclusions", ())), roles=tuple(item.get("roles", ())))


def _build(rule_id: str, raw: dict[str, Any], origin: dict[str, tuple[_Checker, str]],
           slot_names: set[str]) -> RuleSpec:
    def fail(key: str | None, problem: str) -> None:
        checker, _ = origin.get(key or "", origin[""])
        checker.fail(rule_id, key, problem)

    for key in RULE_FIELDS:
        if key not in raw:
            fail(None, f"rule {rule_id!r}: missing required key {key!r}")
    groups, params = REQUIRED[raw["kind"]]
    for group in groups:
        if not raw.get("phrases", {}).get(group):
            at = group if group in raw.get("phrases", {}) else "phrases"
            fail(at, f"rule {rule_id!r} (kind {raw['kind']}): phrase group {group!r} is missing or empty")
    for param in params:
        if param not in raw.get("params", {}):
            fail("params", f"rule {rule_id!r} (kind {raw['kind']}): param {param!r} is missing")
    phrases = {g: tuple(_phrase(i) for i in items) for g, items in raw.get("phrases", {}).items()}
    for group, specs in phrases.items():
        for spec in specs:
            for slot in SLOT_RE.findall(spec.text):
                if slot not in slot_names:
                    fail(group, f"rule {rule_id!r}: phrase {spec.text!r} uses unknown slot {{{slot}}}")
    return RuleSpec(
        rule_id=rule_id, kind=raw["kind"], title=raw["title"], source=raw["source"],
        points=float(raw["points"]), critical=raw["critical"], severity=raw["severity"],
        roles=tuple(raw["roles"]), phrases=phrases, params=dict(raw.get("params", {})),
        enabled=raw.get("enabled", True),
    )


def _canonical(name: str, rules: dict[str, RuleSpec], slots: dict[str, tuple[str, ...]]) -> str:
    def plain(rule: RuleSpec) -> dict[str, Any]:
        data = dict(rule.__dict__)
        data["phrases"] = {g: [p.__dict__ for p in ps] for g, ps in rule.phrases.items()}
        return data

    doc = {"name": name, "slots": slots, "rules": {rid: plain(r) for rid, r in rules.items()}}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, default=list)


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """The default rulebook, extended and overridden by `path` when given."""
    files = [DEFAULT_PATH] + ([Path(path)] if path is not None else [])
    raw_rules: dict[str, dict[str, Any]] = {}
    origin: dict[str, dict[str, tuple[_Checker, str]]] = {}  # rule -> key -> file that set it
    slots: dict[str, tuple[str, ...]] = {}
    name = "default"
    for file in files:
        doc, text = _read(file)
        checker = _Checker(file, text)
        for key in doc:
            if key not in ("name", "slots", "rules"):
                checker.fail(None, key, f"unknown top-level key {key!r} (expected name, slots, rules)")
        if not isinstance(doc.get("name", ""), str):
            checker.fail(None, "name", "name must be text")
        name = doc.get("name", name)
        for slot, values in doc.get("slots", {}).items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                checker.fail(None, slot, f"slot {slot!r} must be a list of texts")
            slots[slot] = tuple(values)
        rules = doc.get("rules", {})
        if not isinstance(rules, dict):
            checker.fail(None, "rules", "rules must be a table of rule tables")
        for rule_id, raw in rules.items():
            checker.rule(rule_id, raw)
            raw_rules[rule_id] = _merge(raw_rules.get(rule_id, {}), raw)
            keys = origin.setdefault(rule_id, {})
            keys[""] = (checker, rule_id)
            for key in list(raw) + list(raw.get("phrases", {})) + list(raw.get("params", {})):
                keys[key] = (checker, rule_id)
    built = {rid: _build(rid, raw, origin[rid], set(slots)) for rid, raw in raw_rules.items()}
    version = hashlib.sha256(_canonical(name, built, slots).encode()).hexdigest()[:12]
    return Rulebook(name=name, version=version, rules=built,
                    sources=tuple(str(f) for f in files), slots=slots)
