"""The suppression list (R3 opted_out) and templates/drafts (R12) on both backends."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from sms_core.errors import InputError
from sms_core.store import suppression, templates
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent


def _on_list(blocked) -> set[str]:
    """The numbers of a few candidates that the list matches (it cannot list numbers)."""
    candidates = ["09012345678", "09012345679", "09011112222", "08022223333", "07033334444"]
    return {n for n in candidates if n in blocked}


def test_r3_optouts_are_stored_normalised_with_who_when_why(engine):
    with transaction(engine) as session:
        entry, new = suppression.add_optout(
            session, "'+81 (0)90-1234-5678", "asked by phone", actor="ops:sato"
        )
        # Stored as a keyed hash: the entry shows only the last 4 digits (issue 13).
        assert new and entry.phone == "*******5678" and len(entry.phone_hash) == 64
        again, new = suppression.add_optout(session, "０９０１２３４５６７８", actor="ops:kato")
        assert not new and again.added_by == "ops:sato"  # the first entry is kept
        suppression.add_optout(session, "9012345679", actor="ops:sato")  # Excel's lost 0
    with transaction(engine) as session:
        blocked = suppression.suppressed_numbers(session)
        assert len(blocked) == 2 and {"09012345678", "09012345679"} <= _on_list(blocked)
        assert "09012345670" not in blocked
        entry = next(e for e in suppression.list_optouts(session) if e.phone_tail == "5678")
        assert (entry.reason, entry.added_by) == ("asked by phone", "ops:sato")
        assert entry.added_at.tzinfo is not None
        assert suppression.remove_optout(session, "090-1234-5678", actor="ops:kato")
        assert not suppression.remove_optout(session, "090-1234-5678", actor="ops:kato")
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["optout.add", "optout.add", "optout.remove"]
    assert events[-1].actor == "ops:kato"
    # The audit trail (append-only) never holds the number an erasure would have to remove.
    assert json.loads(events[0].detail)["phone_tail"] == "5678"
    assert "09012345678" not in " ".join(e.detail for e in events)


@pytest.mark.parametrize("raw", ["", "abc", "12345", "9.01234E+09", "090-0123-4567x"])
def test_r3_an_optout_must_be_a_well_formed_number(raw):
    with pytest.raises(InputError, match="not a well-formed phone number"):
        suppression.normalise_number(raw)


def test_read_numbers_handles_headers_columns_comments_and_cp932():
    text = (
        "# exported 2026-11-25\n氏名,電話番号1\n山田,090-1111-2222\n\n佐藤,０８０１１１１２２２２\n"
    )
    assert suppression.read_numbers(text.encode("cp932")) == ["09011112222", "08011112222"]
    assert suppression.read_numbers(b"09011112222\r\n+81 70 1111 2222\r\n") == [
        "09011112222",
        "07011112222",
    ]
    with pytest.raises(InputError, match=r"line 3: '0901111' is not"):
        suppression.read_numbers(b"phone\n09011112222\n0901111\n")
    with pytest.raises(InputError, match="none of the columns"):
        suppression.read_numbers("氏名,メモ\n山田,x\n".encode())


def test_r3_import_is_all_or_nothing(engine, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("09011112222\n080-2222-3333\n09011112222\n", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("07033334444\nnot a number\n", encoding="utf-8")
    with transaction(engine) as session:
        result = suppression.import_optouts(session, good, "campaign reply", actor="ops")
    assert (result.added, result.already) == (2, 0)
    with pytest.raises(InputError, match=r"'bad\.txt', line 2"), transaction(engine) as session:
        suppression.import_optouts(session, bad, actor="ops")
    with transaction(engine) as session:
        blocked = suppression.suppressed_numbers(session)
        assert len(blocked) == 2 and {"09011112222", "08022223333"} <= _on_list(blocked)
        again = suppression.import_optouts(session, good, actor="ops")
    assert (again.added, again.already) == (0, 2)


def test_r12_templates_crud(engine):
    with transaction(engine) as session:
        templates.save_template(session, " 面接案内 ", "{{氏名}}様 明日10時です", actor="ops")
        templates.save_template(session, "reminder", "{{name}} さん", actor="ops")
    with transaction(engine) as session:
        assert [t.name for t in templates.list_templates(session)] == ["reminder", "面接案内"]
        templates.save_template(session, "面接案内", "変更後", actor="ops")
        assert templates.get_template(session, "面接案内").body == "変更後"
        with pytest.raises(InputError, match="already exists"):
            templates.rename_template(session, "面接案内", "reminder", actor="ops")
        templates.rename_template(session, "面接案内", "interview", actor="ops")
        templates.delete_template(session, "reminder", actor="ops")
    with transaction(engine) as session:
        assert [t.name for t in templates.list_templates(session)] == ["interview"]
        with pytest.raises(InputError, match=r"no template named 'x' \(templates: interview\)"):
            templates.get_template(session, "x")
    for name, body in (("", "body"), ("x" * 101, "body"), ("ok", " \n ")):
        with pytest.raises(InputError), transaction(engine) as session:
            templates.save_template(session, name, body)


def test_r12_drafts_are_saved_edited_and_promoted(engine):
    with transaction(engine) as session:
        draft = templates.save_draft(session, "12月の説明会", "")  # an empty start is fine
        draft_id = draft.id
    with transaction(engine) as session:
        templates.save_draft(session, "12月の説明会", "{{氏名}}様 説明会のご案内", draft_id)
        other = templates.save_draft(session, "メモ", "書きかけ")
        assert [d.title for d in templates.list_drafts(session)] == ["メモ", "12月の説明会"]
        assert templates.get_draft(session, draft_id).body == "{{氏名}}様 説明会のご案内"
        templates.delete_draft(session, other.id)
    with transaction(engine) as session:
        template = templates.promote_draft(session, draft_id, actor="ops")
        assert (template.name, template.body) == ("12月の説明会", "{{氏名}}様 説明会のご案内")
        assert templates.list_drafts(session) == []
        with pytest.raises(InputError, match="no draft number"):
            templates.get_draft(session, draft_id)
    with transaction(engine) as session:
        draft = templates.save_draft(session, "12月の説明会", "second")
        with pytest.raises(InputError, match="already exists"):
            templates.promote_draft(session, draft.id)
