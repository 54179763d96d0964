"""Signed session cookies: what they carry, and what they refuse."""

from __future__ import annotations

from outdial.web.session import SESSION_LIFETIME, Session, SessionCodec, csrf_ok, sign_in, sign_out


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def signed_in(codec: SessionCodec, clock: Clock) -> str:
    session = codec.decode(None)
    sign_in(session, "ops@example.com", clock.now, "token-1")
    session.time_zone = "Europe/Paris"
    return codec.encode(session)


def test_a_cookie_round_trips() -> None:
    clock = Clock()
    codec = SessionCodec("secret", clock)
    session = codec.decode(signed_in(codec, clock))
    assert (session.email, session.time_zone, session.token, session.changed) == (
        "ops@example.com",
        "Europe/Paris",
        "token-1",
        False,
    )


def test_a_missing_forged_or_foreign_cookie_is_a_fresh_session() -> None:
    clock = Clock()
    codec = SessionCodec("secret", clock)
    cookie = signed_in(codec, clock)
    payload, signature = cookie.rsplit(".", 1)
    # a signature with its first character changed (to another one, whatever it was: the
    # token is random, so a fixed replacement would equal it once in 64 runs)
    forged = ("y" if signature[0] == "x" else "x") + signature[1:]
    for bad in (
        None,
        "",
        "garbage",
        payload + "." + forged,
        payload[:-2] + "." + signature,
    ):
        fresh = codec.decode(bad)
        assert fresh.email is None and fresh.changed and fresh.csrf
    assert SessionCodec("another secret", clock).decode(cookie).email is None


def test_a_sign_in_expires() -> None:
    clock = Clock()
    codec = SessionCodec("secret", clock)
    cookie = signed_in(codec, clock)
    clock.now += SESSION_LIFETIME + 1
    assert codec.decode(cookie).email is None


def test_signing_in_and_out_change_the_csrf_token() -> None:
    session = Session(csrf="before")
    sign_in(session, "ops@example.com", 0.0, "token-1")
    assert session.csrf != "before"
    token = session.csrf
    assert csrf_ok(session, token)
    assert not csrf_ok(session, None)
    assert not csrf_ok(session, "")
    assert not csrf_ok(session, token + "x")
    sign_out(session)
    assert session.email is None and not csrf_ok(session, token)
