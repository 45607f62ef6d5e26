"""The short-link and delivery-receipt service beside the dashboard (R11, R15, issue 3).

``python -m sms_core serve`` (and ``make run``) runs :class:`~sms_core.linkserver.app.LinkApp`
on waitress: ``GET /s/{code}`` redirects and counts a click, ``POST /receipts/{provider}``
applies a signed delivery receipt, ``GET /healthz`` answers when the database does.
Modules: :mod:`.app` (routes), :mod:`.clicks`, :mod:`.receipts`, :mod:`.signatures`,
:mod:`.server` (waitress).
"""
