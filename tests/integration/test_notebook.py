"""The analysts' notebook (issue 5): committed clean, bilingual, and run top to bottom.

``notebooks/send_history.ipynb`` is executed with nbclient in a kernel of this very
interpreter (ipykernel from the venv) against throwaway databases: SQLite and PostgreSQL
seeded with the demo history, and an empty SQLite file that the notebook migrates and
seeds itself, as on a fresh machine. An error in any cell fails the test. The Jupyter
packages are test dependencies (requirements-dev.txt): without them this module fails to
import, it is never skipped.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from sms_core import reports
from sms_core.demo.showcase import DEMO_MONTHLY_UNITS, seed_demo
from sms_core.store.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "send_history.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"
SEEDED = "demo data seeded"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# What the notebook must walk through: every report and every figure builder.
REPORTS = [
    "monthly_success",
    "daily_sends",
    "funnel",
    "failure_reasons",
    "units_per_campaign",
    "clicks_per_campaign",
    "quota_by_month",
    "campaign_summary",
    "campaign_count",
    "campaign_messages",
    "template_summary",
]
FIGURES = [name for name in reports.__all__ if name.startswith("figure_")]


def read() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def source(nb: nbformat.NotebookNode, cell_type: str) -> str:
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == cell_type)


def test_committed_without_outputs_or_execution_counts():
    nb = read()
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], f"cell {cell.id} was committed with outputs"
        assert cell.execution_count is None, f"cell {cell.id} has an execution count"
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_every_markdown_cell_is_japanese_then_english():
    cells = [cell for cell in read().cells if cell.cell_type == "markdown"]
    assert cells
    for cell in cells:
        # Paragraphs after the heading: a Japanese one, then one without Japanese script
        # (English; 新卒/中途 in code spans are the values people type, so they may occur).
        paragraphs = [p for p in cell.source.split("\n\n") if not p.startswith("#")]
        prose = [re.sub(r"`[^`]*`", "", p) for p in paragraphs]
        assert len(prose) >= 2, f"cell {cell.id} needs a Japanese and an English paragraph"
        assert JAPANESE.search(prose[0]), f"cell {cell.id}: the first paragraph is Japanese"
        assert JAPANESE.search(prose[-1]) is None, f"cell {cell.id}: the last is English"


def test_walks_through_every_report_with_the_dashboards_figures():
    code = source(read(), "code")
    for name in [*REPORTS, *FIGURES]:
        assert f"reports.{name}(" in code, name
    assert "read_only(engine)" in code
    assert "seed_demo(engine)" in code
    # Slicing by campaign, kind, template and month range.
    for argument in (
        "campaign_id=",
        'kind="新卒"',
        'kind="中途"',
        "template=TEMPLATE",
        "month_from=",
        "since=",
    ):
        assert argument in code, argument
    # No chart logic of its own: the figures are the reports' builders.
    assert "plotly.graph_objects" not in code and "plotly.express" not in code


def execute(url: str, monkeypatch, tmp_path: Path) -> nbformat.NotebookNode:
    """The notebook run top to bottom against ``url``, as `make notebook` would run it."""
    monkeypatch.setenv("SMS_DATABASE_URL", url)
    # Only this venv's kernel spec and no personal IPython start-up files.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    nb = read()
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)", id="prefix"))
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    assert printed(nb, "prefix").strip() == sys.prefix, "the kernel is not this venv's python"
    return nb


def outputs(nb: nbformat.NotebookNode, cell_id: str) -> list:
    return next(cell for cell in nb.cells if cell.get("id") == cell_id).outputs


def printed(nb: nbformat.NotebookNode, cell_id: str) -> str:
    return "".join(o.get("text", "") for o in outputs(nb, cell_id) if o.output_type == "stream")


def figures(nb: nbformat.NotebookNode, cell_id: str | None = None) -> list[dict]:
    cells = [c for c in nb.cells if c.cell_type == "code" and cell_id in (None, c.get("id"))]
    return [o.data[PLOTLY] for c in cells for o in c.outputs if PLOTLY in o.get("data", {})]


def values(array) -> list:
    """A plotly JSON array: a list, or a typed array (base64 ``bdata`` and ``dtype``)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def check_outputs(nb: nbformat.NotebookNode, url: str) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.id not in ("imports", "setup", "close"):
            assert cell.outputs, f"cell {cell.id} showed nothing"
    titles = {figure["layout"]["title"]["text"] for figure in figures(nb)}
    expected = {
        reports.label("monthly_success.title", n=12),
        reports.label("daily_sends.title", n=60),
        reports.label("funnel.title"),
        reports.label("failure_reasons.title"),
        reports.label("units_per_campaign.title"),
        reports.label("clicks_per_campaign.title"),
        reports.label("quota_by_month.title"),
        reports.label("quota_gauge.title", cap=DEMO_MONTHLY_UNITS),
    }
    assert expected <= titles
    # The DataFrame is shown as a table, and the chart holds the report's own numbers.
    html = [o.data["text/html"] for o in outputs(nb, "monthly") if "text/html" in o.get("data", {})]
    assert any("<table" in h and "awaiting_receipt" in h for h in html)
    engine = make_engine(url)
    try:
        monthly = reports.monthly_success(engine, 12)
    finally:
        engine.dispose()
    (chart,) = figures(nb, "monthly")
    assert values(chart["data"][0]["y"]) == monthly["successful"].tolist()
    assert sum(values(chart["data"][0]["y"])) > 0
    # Slicing by template: the demo's campaigns were made from its templates.
    from sms_core.demo.showcase import _CAMPAIGNS

    assert any(f"template: {name}" in printed(nb, "by-template") for name, _ in _CAMPAIGNS)
    # The demo history has no short links: the click-through chart says there is no data.
    (clicks,) = figures(nb, "clicks")
    notes = [a["text"] for a in clicks["layout"].get("annotations", [])]
    assert reports.label("empty") in notes


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_runs_top_to_bottom_on_a_seeded_database(backend, request, tmp_path, monkeypatch):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'sms.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert seed_demo(engine)
    finally:
        engine.dispose()
    nb = execute(url, monkeypatch, tmp_path)
    assert SEEDED not in printed(nb, "connect")  # data was there: nothing written
    check_outputs(nb, url)


def test_seeds_an_empty_database_itself(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh' / 'sms.db'}"  # not even the folder exists
    nb = execute(url, monkeypatch, tmp_path)
    assert SEEDED in printed(nb, "connect")
    check_outputs(nb, url)
