"""Medians, bootstrap confidence intervals and the verdict on a ratio. Pure, seeded, reproducible.

Why a bootstrap written here on numpy rather than `scipy.stats.bootstrap`: the bench needs two
statistics (the median of one sample, and the ratio of two independent medians), each a few vectorised
numpy lines. scipy would add a 35 MB wheel for them, and its default BCa interval relies on the
jackknife, which is known to be inconsistent for the median (the jackknife of a median does not
converge), so we would have to ask for the percentile method anyway. The percentile bootstrap used
here is the textbook one (Efron & Tibshirani, ch. 13); it is seeded through numpy's `Generator`, so
the same samples and seed always give the same interval.

Small samples make every percentile interval of a median too narrow (the median of 6 resampled
values takes only a handful of distinct values). Two guards follow from that: a metric is sampled at
least `MIN_SAMPLES` times before its interval may stop the sampling, and a comparison calls a
difference significant only when the interval of the ratio excludes 1 *and* the ratio moved by at
least the smallest effect of interest (`MIN_EFFECT`, 2% by default): on a shared machine two runs of
the same configuration drift by about that much, and a verdict that flips on drift is no verdict.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 4000
CONFIDENCE = 0.95
MIN_SAMPLES = 6
MIN_EFFECT = 0.02
DEFAULT_SEED = 20261126


@dataclass(frozen=True)
class Estimate:
    """The median of some samples with its bootstrap CI."""

    median: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the CI's width relative to the median (0.025 = ±2.5%); infinite for a zero median."""
        if self.median == 0:
            return float("inf")
        return (self.ci_high - self.ci_low) / 2 / abs(self.median)


class Verdict(enum.StrEnum):
    BETTER = "better"
    WORSE = "worse"
    SAME = "no significant difference"
    INCONCLUSIVE = "inconclusive"  # it moved, but so did the machine itself (the drift control)


@dataclass(frozen=True)
class Ratio:
    """B/A of two medians with the bootstrap CI of that ratio, and what it means for the metric."""

    value: float
    ci_low: float
    ci_high: float
    verdict: Verdict


def _rng(seed: int, *salt: str) -> np.random.Generator:
    """One generator per (seed, metric): the same metric gets the same draws whatever else ran."""
    entropy = [seed, *(int.from_bytes(s.encode()[:16].ljust(16, b"\0"), "little") for s in salt)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _boot_medians(values: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    result: np.ndarray = np.median(values[idx], axis=1)
    return result


def median_ci(
    samples: Sequence[float], *, seed: int = DEFAULT_SEED, key: str = "", resamples: int = RESAMPLES
) -> Estimate:
    """Median and percentile-bootstrap CI. One sample gives a zero-width interval at that value."""
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise ValueError("no samples")
    med = float(np.median(values))
    if values.size == 1:
        return Estimate(med, med, med, 1)
    boots = _boot_medians(values, _rng(seed, key), resamples)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return Estimate(med, float(low), float(high), int(values.size))


def ratio_ci(
    a: Sequence[float],
    b: Sequence[float],
    *,
    higher_is_better: bool,
    seed: int = DEFAULT_SEED,
    key: str = "",
    min_effect: float = MIN_EFFECT,
    resamples: int = RESAMPLES,
) -> Ratio:
    """median(B)/median(A), each side resampled independently (the runs are independent), and a verdict.

    Significant means: the CI excludes 1 and the ratio differs from 1 by at least `min_effect`.
    """
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if va.size == 0 or vb.size == 0:
        raise ValueError("no samples")
    med_a, med_b = float(np.median(va)), float(np.median(vb))
    if med_a == 0:
        raise ValueError("median of A is zero: no ratio")
    rng = _rng(seed, key, "ratio")
    boots_a = _boot_medians(va, rng, resamples)
    boots_b = _boot_medians(vb, rng, resamples)
    ratios = boots_b[boots_a != 0] / boots_a[boots_a != 0]
    alpha = (1 - CONFIDENCE) / 2
    low, high = (float(x) for x in np.quantile(ratios, [alpha, 1 - alpha]))
    value = med_b / med_a
    verdict = Verdict.SAME
    if (low > 1 or high < 1) and abs(value - 1) >= min_effect:
        up = value > 1
        verdict = Verdict.BETTER if up == higher_is_better else Verdict.WORSE
    return Ratio(value, low, high, verdict)


def converged(estimate: Estimate, target: float, min_samples: int = MIN_SAMPLES) -> bool:
    """True once there are enough samples and the CI's relative half-width is within `target`."""
    return estimate.n >= min_samples and estimate.half_width <= target
