"""Benchmark of sms_core.rules.phones on a 1,000,000-row roster column (rules R1-R3).

Run from the project root:  .venv/bin/python benchmarks/phones.py [--rows N] [--repeat K]

About 75% of the values are the clean shapes a real roster is made of (``09012345678``
and ``090-1234-5678``); the rest is spread over every messy form of R2 and every reason
of R3. Prints the best and median time of ``classify_array`` next to a bare
``pyarrow.compute.utf8_length`` over the same array (a floor for one pass over the
strings) and next to the scalar ``classify`` timed on 100,000 values and scaled.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sms_core.rules.phones import REASON_CODES, classify, classify_array

_FW = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _messy(rng: np.random.Generator) -> str | None:
    """One value of the messy quarter: every R2 form and every R3 reason."""
    sub = f"{rng.integers(1, 10)}{rng.integers(0, 10**7):07d}"  # 4th digit 1-9
    mob = f"0{rng.choice(['6', '7', '8', '9'])}0{sub}"
    a, b, c = mob[:3], mob[3:7], mob[7:]
    forms: list[Callable[[], str | None]] = [
        lambda: f"{a} {b} {c}",
        lambda: f"({a}){b}-{c}",
        lambda: f"{a}.{b}.{c}",
        lambda: f"\u3000{a}-{b}-{c} ",
        lambda: f"{a}-{b}-{c}".translate(_FW),
        lambda: f"{a}ー{b}ー{c}",
        lambda: f"{a}\u2010{b}\u2212{c}",
        lambda: f"+81 {mob[1:3]}-{b}-{c}",
        lambda: f"+81-{mob[1:3]}-{b}-{c}",
        lambda: f"+81 (0){mob[1:3]} {b} {c}",
        lambda: f"+81{mob[1:]}",
        lambda: f"81{mob[1:]}",
        lambda: f"'{mob}",
        lambda: f'="{mob}"',
        lambda: mob[1:],  # Excel dropped the zero: repaired
        lambda: f"{int(mob):.5E}",  # Excel's scientific notation: 9.01234E+09
        lambda: f"{int(mob):.5E}".replace(".", ","),
        lambda: f"{a}-0{b[1:]}-{c}",  # 0X0-0 block
        lambda: f"050-{b}-{c}",
        lambda: f"020{b}{c}",
        lambda: f"03-{b}-{c}",
        lambda: f"0{rng.integers(11, 100)}-{rng.integers(100, 1000)}-{c}",
        lambda: f"0120-{b[:3]}-{c[:3]}",
        lambda: f"0570-{b[:3]}-{c[:3]}",
        lambda: f"0800-{b[:3]}-{c}",
        lambda: f"①{mob[1:]}",
        lambda: f"tel {mob}",
        lambda: mob[:-2],
        lambda: mob + "12",
        lambda: None,
        lambda: "",
        lambda: "   ",
    ]
    return forms[int(rng.integers(0, len(forms)))]()


def make_values(n: int, seed: int = 0) -> list[str | None]:
    """``n`` realistic raw phone values, about 75% clean."""
    rng = np.random.default_rng(seed)
    subs = rng.integers(1_000_000, 10**8, n)  # ≥ 1000000 keeps the 4th digit 1-9
    prefixes = rng.choice(np.array(["090", "080", "070"]), n, p=[0.6, 0.3, 0.1])
    kind = rng.random(n)
    out: list[str | None] = []
    for i in range(n):
        if kind[i] < 0.40:
            out.append(f"{prefixes[i]}{subs[i]:08d}")
        elif kind[i] < 0.75:
            s = f"{subs[i]:08d}"
            out.append(f"{prefixes[i]}-{s[:4]}-{s[4:]}")
        else:
            out.append(_messy(rng))
    return out


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Generate the column, time the three contenders and print a short report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    values = make_values(args.rows)
    arr = pa.array(values, pa.string())
    chunked = pa.chunked_array([arr.slice(0, args.rows // 2), arr.slice(args.rows // 2)])

    classify_array(arr)  # warm-up
    t_vec = _timed(lambda: classify_array(arr), args.repeat)
    t_chunked = _timed(lambda: classify_array(chunked), args.repeat)
    t_len = _timed(lambda: pc.utf8_length(arr), args.repeat)
    result = classify_array(arr)
    t_e164 = _timed(result.e164, args.repeat)

    sample = values[:100_000]
    t_scalar = _timed(lambda: [classify(v) for v in sample], 1)[0] / len(sample)

    counts = Counter(REASON_CODES[c] for c in result.reason.tolist())
    repaired = int(result.repaired.sum())
    print(f"rows: {args.rows:,}   reasons: {dict(counts)}   repaired: {repaired:,}")
    print(
        f"classify_array            best {min(t_vec):.3f} s   "
        f"median {statistics.median(t_vec):.3f} s"
    )
    print(
        f"classify_array (2 chunks) best {min(t_chunked):.3f} s   "
        f"median {statistics.median(t_chunked):.3f} s"
    )
    print(f"PhoneArrays.e164()        best {min(t_e164):.3f} s")
    print(f"pc.utf8_length            best {min(t_len):.4f} s   ({min(t_vec) / min(t_len):.0f}x)")
    print(
        f"classify per row (scalar) {t_scalar * 1e6:.2f} us/row -> "
        f"{t_scalar * args.rows:.2f} s per {args.rows:,} rows "
        f"({t_scalar * args.rows / min(t_vec):.0f}x classify_array)"
    )


if __name__ == "__main__":
    main()
