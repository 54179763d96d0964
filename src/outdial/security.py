"""Developer keys, passwords and webhook secrets."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

DEVELOPER_KEY_BYTES = 24  # 192 bits of randomness; a fast hash is enough for such keys
SCRYPT_N = 2**14  # scrypt cost parameters (RFC 7914 §2), about 50 ms per password here
SCRYPT_R = 8
SCRYPT_P = 1


def new_developer_key() -> str:
    return secrets.token_urlsafe(DEVELOPER_KEY_BYTES)


def hash_developer_key(key: str) -> str:
    """SHA-256 of the key: keys are random, so a slow hash would add nothing but latency."""
    return hashlib.sha256(key.encode()).hexdigest()


def developer_key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_developer_key(key), key_hash)


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


# Compared against when there is no account: the same work as a real check, never a match
# (no key hashes to it, and the dummy password is random).
DUMMY_KEY_HASH = "0" * 64


@functools.cache
def dummy_password_hash() -> str:
    return hash_password(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)
