"""The head revision read from the migration files' text (no Alembic on every start) is
the one Alembic itself finds, and anything unusual hands the question back to Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from sms_core.store.db import ROOT, alembic_config, head_revision
from sms_core.store.schema_head import read_head


def test_the_head_read_from_the_files_is_alembics_head():
    alembic_head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert read_head(ROOT / "migrations" / "versions") == alembic_head
    assert head_revision() == alembic_head


def _write(folder: Path, name: str, revision: str, down: str) -> None:
    (folder / f"{name}.py").write_text(
        f'"""{name}."""\n\nrevision: str = {revision}\n'
        f"down_revision: str | Sequence[str] | None = {down}\n",
        encoding="utf-8",
    )


def test_a_chain_a_merge_and_what_is_not_understood(tmp_path):
    _write(tmp_path, "a", '"a"', "None")
    _write(tmp_path, "b", '"b"', '"a"')
    assert read_head(tmp_path) == "b"
    _write(tmp_path, "c", '"c"', '"a"')
    assert read_head(tmp_path) is None  # two heads: Alembic decides
    _write(tmp_path, "m", "'m'", '("b", "c")')
    assert read_head(tmp_path) == "m"  # a merge revision joins them
    _write(tmp_path, "n", "NAME", '"m"')
    assert read_head(tmp_path) is None  # not a literal
    (tmp_path / "n.py").write_text('"""no revision at all."""\n', encoding="utf-8")
    assert read_head(tmp_path) is None
    (tmp_path / "n.py").unlink()
    assert read_head(tmp_path) == "m"
    assert read_head(tmp_path / "missing") is None  # no files
