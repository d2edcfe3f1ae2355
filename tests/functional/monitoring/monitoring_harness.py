"""Names and traffic shared by the monitor's functional tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

TABLE = "monitor-registry"
ARTIFACTS = "monitor-artifacts"
DATA = "monitor-data"
MODEL = "fraud"
AMOUNT_SD = 50.0 * 2**0.5  # amount ~ Gamma(2, 50)
Traffic = Callable[..., list[dict[str, Any]]]


def draw(n: int, seed: int, amount_shift: float = 0.0) -> list[dict[str, Any]]:
    """Records from the training distribution (amount shifted by `amount_shift`)."""
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 50.0, n) + amount_shift
    age = rng.integers(18, 90, n).astype(float)
    country = rng.choice(np.array(["de", "fr", "us"]), n)
    return [
        {"amount": float(a), "age": float(b), "country": str(c)}
        for a, b, c in zip(amount, age, country, strict=True)
    ]
