"""Opt-outs kept as keyed hashes, not numbers (R3 ``opted_out``, issue 13).

The suppression list must keep honouring a number after the candidate's data has been
erased, without holding the number. Each entry is the HMAC-SHA-256 of the national form
(``09012345678``) under a secret key, plus its last 4 digits (what the list shows).
Without the key a hash cannot be tested against the ~10^9 possible mobile numbers; with
it, a preview or a send checks a number by hashing it.

Pure functions: the key is given by the caller (``sms_core.store.suppression`` reads it
from the environment or secrets.toml).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported in mask(), once per preview: the store and the command line hash single
    # numbers and must not load them on start.
    import numpy as np
    import pyarrow as pa

__all__ = ["HashedOptOuts", "optout_hash"]


def optout_hash(key: bytes, national: str) -> str:
    """The hex HMAC-SHA-256 of a national-form number under ``key``."""
    return hmac.new(key, national.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class HashedOptOuts:
    """The suppression list as a preview or a send matches it: hashes and last digits.

    ``in`` takes a national-form number; :meth:`mask` a whole column of them. Only the
    rows whose last 4 digits are on the list are hashed, so a million-row preview against
    a few hundred opt-outs hashes a few thousand numbers, not a million.
    """

    key: bytes = field(repr=False)
    hashes: frozenset[str]
    tails: frozenset[str]

    def __contains__(self, national: object) -> bool:
        if not isinstance(national, str) or len(national) < 4:
            return False
        return national[-4:] in self.tails and optout_hash(self.key, national) in self.hashes

    def __len__(self) -> int:
        return len(self.hashes)

    def __iter__(self) -> Iterator[str]:
        # The list holds no numbers to give. Loud, not empty: a caller that turned this
        # into a tuple of numbers would otherwise match nothing and send to opt-outs.
        raise TypeError("hashed opt-outs hold no numbers to iterate; match with `in` or mask()")

    def mask(self, national: pa.Array | Iterable[str | None]) -> np.ndarray:
        """Per value, whether that national-form number is on the list."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if not isinstance(national, pa.Array):
            national = pa.array(list(national), pa.string())
        result = np.zeros(len(national), dtype=bool)
        if not self.hashes or not len(national):
            return result
        filled = pc.fill_null(national, "")
        tails = pc.utf8_slice_codeunits(filled, -4)
        candidates = pc.is_in(tails, value_set=pa.array(sorted(self.tails), pa.string()))
        rows = np.flatnonzero(candidates.to_numpy(zero_copy_only=False))
        if not len(rows):
            return result
        values = filled.take(pa.array(rows)).to_pylist()
        hits = [optout_hash(self.key, v) in self.hashes if v else False for v in values]
        result[rows[np.array(hits, dtype=bool)]] = True
        return result
