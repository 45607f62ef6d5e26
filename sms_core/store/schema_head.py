"""The newest schema revision, read from migrations/versions without importing Alembic.

Every command and process calls :func:`sms_core.store.db.upgrade` on start. Importing
Alembic and building its script directory only to learn that the database is already
at head cost about a fifth of a second a process; reading two assignments from each
migration file costs about a millisecond. A unit test checks that this agrees with
Alembic's own head; :func:`sms_core.store.db.head_revision` asks Alembic whenever
the files are not plainly understood.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

# `revision: str = "0017"` and `down_revision: str | Sequence[str] | None = "0016"`, as the
# project's migration template writes them (migrations/script.py.mako).
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def _parents(value: object) -> tuple[str, ...] | None:
    """The revisions a ``down_revision`` value names; None for a value not understood."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def read_head(versions: Path) -> str | None:
    """The one head revision of the migration files in ``versions``.

    None whenever the files are not plainly understood (no files, an assignment that is
    not a literal, several heads): the caller then asks Alembic, which knows every case.
    """
    parents: dict[str, tuple[str, ...]] = {}
    for path in sorted(versions.glob("*.py")):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            down = _parents(ast.literal_eval(found.get("down_revision", "None")))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or down is None or revision in parents:
            return None
        parents[revision] = down
    heads = set(parents).difference(*parents.values())
    return heads.pop() if len(heads) == 1 else None
