"""``python -m sms_core …``: the command-line interface (see :mod:`sms_core.cli.main`)."""

from sms_core.cli.main import main

raise SystemExit(main())
