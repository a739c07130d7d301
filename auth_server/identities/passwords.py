"""Passwords: argon2id hashing (RFC 9106), a strength policy, and a check against common passwords."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from auth_server.identities.errors import WeakPassword

# RFC 9106 s4, second recommended option: argon2id, t=3, m=64 MiB, p=4. Changing these makes every
# stored hash be re-hashed at its owner's next successful login (`needs_rehash`).
HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)

# NIST SP 800-63B s5.1.1.2: length, a blocklist of common passwords, no composition rules; every
# login here also needs a second factor.
MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_DISTINCT_CHARACTERS = 5
_DECORATION = string.digits + string.punctuation + " "

# At most this many argon2 computations at once per process (64 MiB each); the rest queue.
_HASHING_SLOTS = 4


@cache
def common_passwords() -> frozenset[str]:
    """The blocklist shipped with the package (see the first line of `common_passwords.txt`)."""
    text = resources.files("auth_server.identities").joinpath("common_passwords.txt").read_text()
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_strength(password: str, *, username: str) -> None:
    """Refuse a password that is short, repetitive, common, or built on the username; raises WeakPassword."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        raise WeakPassword("Use more varied characters; this password repeats too much.")
    lowered = password.lower()
    blocklist = common_passwords()
    core = lowered.strip(_DECORATION)
    if lowered in blocklist or core in blocklist or len(core) < 4:
        raise WeakPassword("This password is too common. Choose something less guessable, such as a few random words.")
    name = username.strip().lower()
    if len(name) >= 3 and (name in lowered or lowered in name):
        raise WeakPassword("Do not build the password from your username.")


@cache
def _hashing_slots() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(_HASHING_SLOTS)


async def hash_password(password: str, hasher: PasswordHasher = HASHER) -> str:
    """The argon2id hash (PHC string, salt and parameters included), computed off the event loop."""
    return await anyio.to_thread.run_sync(hasher.hash, password, limiter=_hashing_slots())


def _verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str, password: str, hasher: PasswordHasher = HASHER) -> bool:
    """Whether `password` matches `stored_hash`, computed off the event loop."""
    return await anyio.to_thread.run_sync(_verify, hasher, stored_hash, password, limiter=_hashing_slots())


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("obank dummy password for unknown users")


def prepare_unknown_user_hash(hasher: PasswordHasher = HASHER) -> None:
    """Compute the dummy hash at start-up, so even the first unknown username answers in normal time."""
    _dummy_hash(hasher)


async def verify_against_nobody(password: str, hasher: PasswordHasher = HASHER) -> bool:
    """Spend the time of one real verification, so an unknown username answers as slowly as a known one."""
    dummy = await anyio.to_thread.run_sync(_dummy_hash, hasher, limiter=_hashing_slots())
    await verify_password(dummy, password, hasher)
    return False
