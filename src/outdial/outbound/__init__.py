"""Requests to users' web services that cannot reach inside: result callbacks, flow URLs,
``goto`` and ``http`` steps.

``policy`` (pure) decides which URLs and addresses may be reached; ``client`` resolves the host,
checks every address, connects to the one it checked (no DNS rebinding), follows no redirect,
and caps the reply's size and time.
"""
