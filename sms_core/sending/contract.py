"""The SMS contract (R14, R16): monthly units, period and sender number.

There is at most one contract (row id 1). Without one nothing can be sent and the
dashboard shows only the settings page that sets one up.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sms_core.errors import InputError, StateError
from sms_core.rules.phone_verdict import classify
from sms_core.sending.quota import (
    add_months,
    apply_contract,
    contract_covers,
    current_month,
    format_month,
)
from sms_core.store.models import CONTRACT_ID, SENDER_MODES, Contract, audit

__all__ = [
    "MAX_MONTHLY_UNITS",
    "MIN_MONTHS",
    "SHARED_SENDER_NUMBER",
    "active_contract",
    "contract_covers",
    "contract_end",
    "contract_has_ended",
    "get_contract",
    "set_contract",
]

# The common sender of every company on the shared plan, the same for all carriers
# (source document, キャリア別の送信元番号).
SHARED_SENDER_NUMBER = "05055271265"
MIN_MONTHS = 3
MAX_MONTHS = 120
# Keeps used + reserved + a send far from the 32-bit limit of the ledger's columns.
MAX_MONTHLY_UNITS = 10_000_000


def get_contract(session: Session) -> Contract | None:
    """The contract, or None when none was ever set up."""
    return session.get(Contract, CONTRACT_ID)


def contract_end(contract: Contract) -> date:
    """The last month of the contract (first day of that month)."""
    return add_months(contract.start_month, contract.months - 1)


def contract_has_ended(contract: Contract, now: datetime | None = None) -> bool:
    """Whether the contract's last month (Japan time) is over at ``now`` (default: the
    product clock). A contract starting in a later month has not ended: it can already
    take sends scheduled into its months."""
    return contract_end(contract) < current_month(now)


def active_contract(session: Session, now: datetime | None = None) -> Contract | None:
    """The contract in force at ``now`` (R16): None when there is none or it has ended.

    An ended contract counts as no contract: the dashboard shows only Settings and the
    CLI refuses to send. Both ask this one function.
    """
    contract = get_contract(session)
    if contract is None or contract_has_ended(contract, now):
        return None
    return contract


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number, not {value!r}", key="contract.whole")
    return value


def _sender(mode: str, number: str | None) -> str:
    if mode not in SENDER_MODES:
        raise InputError(
            f"the sender is 'shared' or 'dedicated', not '{mode}'", key="contract.sender_mode"
        )
    given = (number or "").strip()
    if mode == "shared":
        if given and classify(given).national != SHARED_SENDER_NUMBER:
            raise InputError(
                f"the shared sender is always {SHARED_SENDER_NUMBER}; give a number only "
                "with a dedicated sender",
                key="contract.shared_number",
            )
        return SHARED_SENDER_NUMBER
    if not given:
        raise InputError(
            "a dedicated sender needs its number (the one the provider assigned)",
            key="contract.number_missing",
        )
    national = classify(given).national
    if not national:
        raise InputError(
            f"the dedicated sender number '{given}' is not a well-formed number",
            key="contract.number_invalid",
            number=given,
        )
    if national == SHARED_SENDER_NUMBER:
        raise InputError(
            f"{SHARED_SENDER_NUMBER} is the shared number, not a dedicated one",
            key="contract.number_shared",
        )
    return national


def set_contract(
    session: Session,
    monthly_units: int,
    start_month: date,
    months: int,
    sender_mode: str = "shared",
    sender_number: str | None = None,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> Contract:
    """Create or change the contract, in the caller's transaction, and audit it.

    ``start_month`` is the first day of a month (Japan time). A change of units or period
    re-caps this month's and later months' ledgers; it is refused (QuotaError) when a
    month already used or reserved more than the new terms allow. Bad terms raise
    InputError. On any error roll the session back.
    """
    units = _whole(monthly_units, "the monthly units")
    if not 0 < units <= MAX_MONTHLY_UNITS:
        raise InputError(
            f"the monthly units must be 1 to {MAX_MONTHLY_UNITS:,}, not {units}",
            key="contract.units",
            max=MAX_MONTHLY_UNITS,
        )
    length = _whole(months, "the contract length")
    if length < MIN_MONTHS:
        raise InputError(
            f"a contract runs at least {MIN_MONTHS} months, not {length}",
            key="contract.too_short",
            min=MIN_MONTHS,
        )
    if length > MAX_MONTHS:
        raise InputError(
            f"a contract runs at most {MAX_MONTHS} months, not {length}",
            key="contract.too_long",
            max=MAX_MONTHS,
        )
    if not isinstance(start_month, date) or isinstance(start_month, datetime):
        raise InputError(
            f"the start month must be a date, not {start_month!r}", key="contract.start"
        )
    if start_month.day != 1:
        raise InputError(
            f"the contract starts on the first day of a month, not {start_month.isoformat()}",
            key="contract.start",
        )
    number = _sender(sender_mode, sender_number)

    # Locks the row on PostgreSQL, so two changes at once apply one after the other.
    contract = session.get(Contract, CONTRACT_ID, with_for_update=True)
    before = None
    if contract is None:
        contract = Contract(id=CONTRACT_ID)
        session.add(contract)
    else:
        before = _terms(contract)
    contract.monthly_units = units
    contract.start_month = start_month
    contract.months = length
    contract.sender_mode = sender_mode
    contract.sender_number = number
    try:
        session.flush()
    except IntegrityError:
        raise StateError(
            "the contract was set up at the same moment elsewhere: try again", key="contract.race"
        ) from None
    apply_contract(session, contract, now=now)
    audit(session, actor, "contract.set", before=before, after=_terms(contract))
    return contract


def _terms(contract: Contract) -> dict[str, object]:
    return {
        "monthly_units": contract.monthly_units,
        "start_month": format_month(contract.start_month),
        "months": contract.months,
        "sender_mode": contract.sender_mode,
        "sender_number": contract.sender_number,
    }
