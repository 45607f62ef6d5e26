"""Pure product rules: phones, text and segments, tags, roster reading, preview, plans.

Nothing here touches the database, the network or a provider.
"""
