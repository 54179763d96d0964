"""What the web UI tests share: signing in through the form, reading the CSRF token."""

from __future__ import annotations

import re

from api_support import Tenant, TestClient

__all__ = ["PASSWORD", "csrf_of", "sign_in"]

PASSWORD = "a password"  # what make_tenant gives every account


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, tenant: Tenant, time_zone: str = "UTC") -> str:
    """Sign in through the form, as a browser would; returns the session's CSRF token."""
    token = csrf_of(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={
            "email": tenant.email,
            "password": PASSWORD,
            "time_zone": time_zone,
            "csrf_token": token,
            "next": "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/ui/deployments"
    return csrf_of(client.get("/ui/deployments").text)
