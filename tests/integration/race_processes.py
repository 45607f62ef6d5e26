"""Processes for the races of many processes (the quota race, concurrent first starts).

Each racer must be a process of its own, with its own interpreter state, engine and
connections, and must not be a fork of the test process (which has threads and open
connections). "spawn" gave that, but each racer then imported SQLAlchemy and the product
again: about a second of CPU each, 40 racers a run. A forkserver gives the same: a clean
server process, started once, imports the modules named here, and each racer is forked
from it.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import ForkServerContext

PRELOAD = ["sqlalchemy", "psycopg", "sms_core.store.db", "sms_core.sending.quota"]


def racing_context(*more: str) -> ForkServerContext:
    """The multiprocessing context of the racers, its server importing PRELOAD and ``more``.

    The preload list is fixed when the server starts (the first racer of this test
    process); later calls name the same modules, or modules the server then lacks, which
    each racer imports itself as "spawn" did.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*PRELOAD, *more])
    return ctx
