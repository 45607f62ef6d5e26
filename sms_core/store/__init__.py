"""Persistence: SQLAlchemy models, the engine, and the repositories for templates,
opt-outs, users, settings and the audit trail.
"""
