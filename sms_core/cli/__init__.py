"""The command line: ``python -m sms_core COMMAND …``."""
