"""Issue 12: each opt-out entry keeps its source and time, and each is audited (R3)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from sms_core import clock
from sms_core.rules.schedule import JST
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent
from sms_core.store.suppression import add_optout, import_optouts_bytes, list_optouts


def test_entries_keep_source_and_time_and_each_is_audited(engine):
    at = datetime(2026, 11, 30, 23, 59, tzinfo=JST)
    with clock.frozen(at), transaction(engine) as s:
        add_optout(s, "090-1111-0001", "電話で依頼", actor="operator-a")
        result = import_optouts_bytes(
            s,
            b"phone\n09011110001\n09011110002\n08011110003\n",
            "list.csv",
            actor="operator-b",
        )
    assert (result.added, result.already) == (2, 1)
    with transaction(engine) as s:
        # Kept as keyed hashes (issue 13): an entry shows its last 4 digits only.
        entries = {o.phone_tail: (o.source, o.added_at) for o in list_optouts(s)}
        events = [
            (e.action, json.loads(e.detail))
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert entries == {
        "0001": ("operator", at),
        "0002": ("import", at),
        "0003": ("import", at),
    }
    added = sorted(d["phone_tail"] for action, d in events if action == "optout.add")
    assert added == ["0001", "0002", "0003"]  # once each, new ones only
    assert not any("0901111" in json.dumps(d) for _, d in events)  # never the number
    assert [d["source"] for action, d in events if action == "optout.add"].count("import") == 2
