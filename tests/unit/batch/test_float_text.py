"""float32 -> text, vectorised: every string is numpy's own, and reads back to the same float32."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.batch.float_text import float32_column


def float32_text(values: np.ndarray) -> list[str]:
    return float32_column(values).texts()


def _samples(name: str) -> np.ndarray:
    rng = np.random.default_rng(len(name))
    if name == "probabilities":
        return rng.random(50_000).astype(np.float32)
    if name == "magnitudes":
        scale = 10.0 ** rng.integers(-8, 10, size=50_000)
        return (rng.normal(size=50_000) * scale).astype(np.float32)
    if name == "integers":
        return rng.integers(-(10**7), 10**7, size=50_000).astype(np.float32)
    return np.frombuffer(rng.bytes(200_000), dtype=np.float32)  # every bit pattern


@pytest.mark.parametrize("name", ["probabilities", "magnitudes", "integers", "bit patterns"])
def test_every_string_is_numpys(name: str) -> None:
    values = _samples(name)
    with np.errstate(invalid="ignore"):
        expected = values.astype(str).tolist()
    assert float32_text(values) == expected


def test_edges_of_the_positional_and_scientific_ranges_and_special_values() -> None:
    values = np.array(
        [0.0, -0.0, 1.0, 0.5, 10.0, 0.01, 0.1, 0.3, 1e-4, 0.00010001, 999999.94, 1e6, 123456.0,
         -0.00012345, 16777216.0, 3.4028235e38, 1e-45, np.inf, -np.inf, np.nan,
         9.99e-5, -2.5e-7, 1e-13, 9.9999e-14, 1.5e6, -1e12, 9.999999e12, 1e13, 1.0000001e-05],
        dtype=np.float32,
    )  # fmt: skip
    texts = float32_text(values)
    assert texts == values.astype(str).tolist()
    finite = np.isfinite(values)
    assert np.array_equal(np.array(texts, dtype=np.float32)[finite], values[finite])


def test_no_values() -> None:
    assert float32_text(np.empty(0, dtype=np.float32)) == []
