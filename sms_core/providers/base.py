"""The interface between the dispatch worker and an SMS provider.

The worker hands a provider one :class:`Outbound` (one message part to one number) and gets
back a :class:`Receipt`, or one of three errors that say what it may do next:

``ProviderTransient``
    the request was certainly not processed: send the same part again later
    (``retry_after`` seconds, when the provider said so);
``ProviderAmbiguous``
    the provider may have processed it: the message is ``unknown`` until :meth:`Provider.find`
    settles it; never send it again blindly;
``ProviderPermanent``
    rejected for good; ``str(err)`` is the provider's reason, fit to show a user.

Every adapter follows this shape, as httpx's transports and Django's mail backends do: a small
abstract class, one module per implementation, and an embedded test double (the sandbox).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["ACCEPTED", "DELIVERED", "FAILED", "STATES", "Outbound", "Provider", "Receipt"]

ACCEPTED = "accepted"
DELIVERED = "delivered"
FAILED = "failed"
STATES: tuple[str, ...] = (ACCEPTED, DELIVERED, FAILED)


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message part to one number, ready to go out.

    ``client_ref`` is our stable reference, unique per message part; adapters carry it to the
    provider where the API allows (Karaden ``tags[]``). ``to`` is the national 11-digit mobile
    number (``09012345678``); ``body`` is at most 660 UTF-16 units, already split (R8);
    ``sender`` is a dedicated sender number, ``None`` for the provider's default (shared) one.
    ``valid_until`` is the send's deadline (送信期限, issue 12): adapters pass it on where
    the API has one (Karaden ``limited_at``, Twilio ``ValidityPeriod``).
    """

    client_ref: str
    to: str
    body: str
    sender: str | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the provider says about one message.

    ``state`` is ``accepted`` (taken, not yet final), ``delivered`` or ``failed``; ``reason``
    is the carrier's or provider's reason when failed; ``charged_units`` what the provider
    counts as billed, when it says.
    """

    provider_id: str
    state: str
    reason: str | None = None
    charged_units: int | None = None

    def __post_init__(self) -> None:
        # A mapping bug in an adapter must fail loudly here, not become a silent odd state.
        if self.state not in STATES:
            raise ValueError(f"unknown receipt state {self.state!r}; expected one of {STATES}")

    @property
    def final(self) -> bool:
        """Whether the state will not change any more (delivered or failed)."""
        return self.state != ACCEPTED


class Provider(ABC):
    """An SMS provider: send a part, ask its state, settle an ``unknown`` one.

    Instances hold a connection (HTTP session, database handle): call :meth:`close` when done,
    or use the provider as a context manager. One instance may be shared by threads.
    """

    name: ClassVar[str]

    @abstractmethod
    def send(self, msg: Outbound) -> Receipt:
        """Send one part; raise ProviderTransient, ProviderAmbiguous or ProviderPermanent."""

    @abstractmethod
    def status(self, provider_id: str) -> Receipt:
        """The current state of a message this provider accepted."""

    @abstractmethod
    def find(self, msg: Outbound, sent_after: datetime) -> Receipt | None:
        """Settle an ``unknown`` message: the provider's record of ``msg``, if it has one.

        ``sent_after`` is a time no later than the first attempt to send it (naive means UTC).
        Returns ``None`` only when the provider certainly has no such message; raises
        ProviderTransient or ProviderAmbiguous when it cannot tell now.
        """

    def close(self) -> None:  # noqa: B027 - an optional hook, like Django's mail backends
        """Release connections; the provider must not be used afterwards."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
