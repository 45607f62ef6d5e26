"""Regenerate the sample rosters shipped in data/ (see data/README.md).

Run from anywhere: ``python data/make_samples.py``. The seeds are fixed, so the files
come out the same every time (the CSV files byte for byte, the workbook cell for
cell); tests/unit/test_samples.py checks that they do.
"""

from __future__ import annotations

import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent

# name -> (rows, seed, headers, new_grad_share, writer, encoding)
SAMPLES: dict[str, tuple[int, int, str, float, str, str | None]] = {
    "roster_sample_cp932.csv": (300, 2027, "ja", 0.6, "csv", "cp932"),
    "roster_sample_utf8.csv": (300, 2028, "ja", 0.6, "csv", "utf-8-sig"),
    "roster_sample_en.csv": (200, 2029, "en", 0.6, "csv", "utf-8"),
    "roster_sample.xlsx": (200, 2030, "ja", 0.6, "xlsx", None),
    "roster_mid_career.csv": (100, 2031, "ja", 0.0, "csv", "cp932"),
}


def build(name: str):
    """Generate the table of sample ``name`` (a key of :data:`SAMPLES`)."""
    from sms_core.demo.samples import generate_roster

    rows, seed, headers, new_grad_share, _, _ = SAMPLES[name]
    return generate_roster(rows, seed=seed, headers=headers, new_grad_share=new_grad_share)


def write(name: str, out_dir: Path = DATA) -> Path:
    """Write sample ``name`` into ``out_dir`` and return its path."""
    from sms_core.demo.samples import write_roster_csv, write_roster_xlsx

    _, _, _, _, writer, encoding = SAMPLES[name]
    path = out_dir / name
    table = build(name)
    if writer == "xlsx":
        write_roster_xlsx(table, path)
    else:
        write_roster_csv(table, path, encoding=encoding)
    return path


def main() -> int:
    """Write every sample roster into data/."""
    if str(DATA.parent) not in sys.path:
        sys.path.insert(0, str(DATA.parent))
    for name in SAMPLES:
        path = write(name)
        print(f"wrote {path.relative_to(DATA.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
