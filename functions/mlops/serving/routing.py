"""Deterministic traffic decisions from the request id: canary share and capture sampling.

A request id always lands at the same point of [0, 1) for a given purpose, so a replay with the
same ids routes and samples the same way; each purpose has its own salt, so the canary share
and the capture sample are independent of each other.
"""

from __future__ import annotations

from hashlib import blake2b

CANARY_SALT = b"mlops-canary"
CAPTURE_SALT = b"mlops-capture"
_SCALE = float(1 << 64)


def unit_interval(request_id: str, salt: bytes) -> float:
    """A uniform, deterministic point in [0, 1) for this request id and purpose."""
    digest = blake2b(request_id.encode(), digest_size=8, key=salt).digest()
    return int.from_bytes(digest, "big") / _SCALE


def goes_to_canary(request_id: str, weight: float) -> bool:
    return weight > 0.0 and unit_interval(request_id, CANARY_SALT) < weight


def is_captured(request_id: str, rate: float) -> bool:
    return rate > 0.0 and unit_interval(request_id, CAPTURE_SALT) < rate
