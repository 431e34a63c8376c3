"""Viewers for tests of queries that take one (`qa.access.roles`)."""

from __future__ import annotations

from qa.access.roles import Viewer

SUPERVISOR = Viewer("主管", "supervisor")  # sees every call


def as_viewer(name: str, role: str = "supervisor", team: str | None = None) -> Viewer:
    return Viewer(name, role, team)
