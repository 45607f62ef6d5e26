"""Imitations of the SMS providers' HTTP APIs, on 127.0.0.1, for adapter and worker tests.

``KaradenServer`` and ``TwilioServer`` speak the real wire format (form bodies, JSON answers,
each API's error format and auth), keep every message they accept, count sends per number
and text (and per Karaden tag) so tests can assert that no part went out twice, and inject
faults on demand. See :mod:`tests.integration.fakes.server` for the faults and how to drive
them, in process or over HTTP when the server runs as its own process.
"""
