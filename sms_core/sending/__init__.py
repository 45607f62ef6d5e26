"""The send use case, quota, contract, message states, the worker and retention."""
