"""The web UI: server-rendered pages, sign-in, CSRF, charts."""
