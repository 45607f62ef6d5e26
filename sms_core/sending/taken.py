"""The UPDATE that records a batch of receipts, built once per shape and run many times.

The worker records each batch the provider took with one guarded move per receipt state
(:meth:`sms_core.sending.dispatch.Worker._record_taken`): ``sending`` → the receipt's
state, each message getting its own provider id through a CASE on its id, and only while
this worker still holds it (``lease_owner``). Built anew for every batch, that statement
(a CASE of 32 ids, an IN of 32 ids) cost the worker more CPU than the database spent
running it; here it is built once per (worker, batch size, state, columns set) with bound
parameters, and each batch only binds its values.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Update, bindparam, case

from sms_core.sending.states import MessageState, message_update
from sms_core.store.models import Message

__all__ = ["taken_params", "taken_statement"]

_message = Message.__table__


@lru_cache(maxsize=512)
def taken_statement(owner: str, n: int, to: str, columns: tuple[str, ...]) -> Update:
    """The move of ``n`` messages leased by ``owner`` from ``sending`` to ``to``, setting
    ``columns`` (bound as ``set_<column>``) and each one's provider id (``pid_<k>`` for the
    message ``id_<k>``); returns the ids moved. Run it through
    :func:`~sms_core.sending.states.run_message_move` with :func:`taken_params`."""
    ids = [bindparam(f"id_{k}", type_=_message.c.id.type) for k in range(n)]
    provider_ids = [bindparam(f"pid_{k}", type_=_message.c.provider_id.type) for k in range(n)]
    values: dict[str, Any] = {c: bindparam(f"set_{c}", type_=_message.c[c].type) for c in columns}
    values["provider_id"] = case(
        *((_message.c.id == i, p) for i, p in zip(ids, provider_ids, strict=True))
    )
    return message_update(
        to,
        _message.c.id.in_(ids),
        _message.c.lease_owner == owner,
        frm=MessageState.SENDING,
        **values,
    ).returning(_message.c.id)


def taken_params(
    ids: Sequence[int], provider_ids: Sequence[str], values: dict[str, Any]
) -> dict[str, Any]:
    """The parameters of :func:`taken_statement` for these messages and column values."""
    params = {f"set_{c}": v for c, v in values.items()}
    params.update((f"id_{k}", i) for k, i in enumerate(ids))
    params.update((f"pid_{k}", p) for k, p in enumerate(provider_ids))
    return params
