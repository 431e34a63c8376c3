"""Who may see and do what: the role matrix, declared once.

Every query over calls takes a `Viewer` and filters with `call_scope`; every
write checks `require`. The dashboard only decides what to draw, so a page
that forgot a check still cannot show or change what the role may not.
`python -m qa.access.roles` prints the matrix as the README's table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa.i18n import Explained

__all__ = ["ACTIONS", "AccessDenied", "ROLES", "Role", "Viewer", "call_scope", "can", "markdown_matrix", "may_open_call",
           "require", "require_call"]


class AccessDenied(Explained):
    """The viewer's role does not allow what was asked."""


@dataclass(frozen=True)
class Role:
    calls: str  # whose calls it opens: all | team | assigned (sampled to or reviewed by it) | none
    phrases: str  # whose calls the phrase library searches: all | calls (as `calls`) | none
    raw_text: bool  # sees transcripts with personal numbers; False: 【手机号】-style masks only
    actions: frozenset[str]


# action -> what it allows (the README's column heads)
ACTIONS = {
    "judge": "give verdicts (confirmed / false positive / missed)",
    "appeal": "file an appeal on a finding",
    "decide": "uphold or overturn an appeal",
    "plans": "make sampling plans",
    "scorecard": "agent scorecards",
    "clips": "play and export clips",
    "accounts": "manage accounts",
    "audit": "read the audit log",
}

ROLES: dict[str, Role] = {
    "admin": Role("all", "all", True, frozenset(ACTIONS)),
    "supervisor": Role("all", "all", True, frozenset({"judge", "appeal", "decide", "plans", "scorecard", "clips"})),
    "inspector": Role("assigned", "calls", True, frozenset({"judge", "clips"})),
    "team_lead": Role("team", "calls", True, frozenset({"appeal", "scorecard", "clips"})),
    "trainer": Role("none", "all", False, frozenset({"clips"})),
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the queries see it (hashable: the dashboard caches by it)."""

    name: str
    role: str
    team: str | None = None  # a team lead's team

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role {self.role!r}: expected one of {', '.join(ROLES)}")

    @property
    def rights(self) -> Role:
        return ROLES[self.role]


def can(viewer: Viewer, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
    return action in viewer.rights.actions


def require(viewer: Viewer, action: str) -> None:
    if not can(viewer, action):
        raise AccessDenied("the role {role} may not do this: {action}", role=viewer.role, action=action)


def call_scope(viewer: Viewer, alias: str = "c", *, for_phrases: bool = False) -> tuple[str, list[Any]]:
    """SQL true for the calls (table alias `alias`, a `calls` row) the viewer may open, and its parameters."""
    scope = viewer.rights.phrases if for_phrases else viewer.rights.calls
    if scope == "calls":
        scope = viewer.rights.calls
    if scope == "all":
        return "TRUE", []
    if scope == "team":
        return f"{alias}.team IS NOT DISTINCT FROM ?", [viewer.team or "\x00"]  # no team: no calls
    if scope == "assigned":
        return (f"({alias}.call_id IN (SELECT call_id FROM plan_calls WHERE inspector = ?) "
                f"OR {alias}.call_id IN (SELECT call_id FROM reviews WHERE reviewer = ?))"), [viewer.name, viewer.name]
    return "FALSE", []


def may_open_call(con: Any, viewer: Viewer, call_id: str) -> bool:
    """The call exists and lies in the viewer's scope."""
    scope, params = call_scope(viewer)
    return con.execute(f"SELECT count(*) FROM calls c WHERE c.call_id = ? AND {scope}",
                       [call_id, *params]).fetchone()[0] > 0


def require_call(con: Any, viewer: Viewer, call_id: str) -> None:
    """Refuse a call the viewer may not open, in the same words as a call that does not exist."""
    if not may_open_call(con, viewer, call_id):
        raise AccessDenied("no call {call} that you may open", call=call_id)


_SCOPE_WORDS = {"all": "every call", "team": "the team's calls", "assigned": "calls sampled to or reviewed by them",
                "none": "none", "calls": "the calls they open"}


def markdown_matrix() -> str:
    """The matrix as a Markdown table."""
    head = ["role", "opens calls", "phrase library", "raw text", *ACTIONS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, role in ROLES.items():
        cells = [f"`{name}`", _SCOPE_WORDS[role.calls], _SCOPE_WORDS[role.phrases],
                 "yes" if role.raw_text else "masked", *("yes" if a in role.actions else "" for a in ACTIONS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_matrix())
