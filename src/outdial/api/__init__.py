"""The HTTP API (SPEC §4): routes, request parsing, content negotiation, error mapping."""
