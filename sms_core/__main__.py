"""``python -m sms_core …``: the command-line interface (see :mod:`sms_core.cli`)."""

from .cli import main

raise SystemExit(main())
