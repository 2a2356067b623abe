"""The statistics: seeded and reproducible, honest about small samples, and a verdict that does not
flip on noise. Runs of the same distribution must be called the same in nearly every repetition."""

from __future__ import annotations

import numpy as np
import pytest

from cilium_tune.bench import stats


def noisy(median: float, n: int, seed: int, cv: float = 0.08) -> list[float]:
    """Samples like the lab's throughput: log-normal around `median` with a few percent spread."""
    rng = np.random.default_rng(seed)
    return list(median * rng.lognormal(0.0, cv, size=n))


def test_median_ci_is_reproducible_and_contains_the_median() -> None:
    samples = noisy(20.0, 12, seed=1)
    first = stats.median_ci(samples, key="throughput/x/ipv4")
    again = stats.median_ci(samples, key="throughput/x/ipv4")
    assert first == again
    assert first.ci_low <= first.median <= first.ci_high
    assert first.median == pytest.approx(float(np.median(samples)))
    assert 0 < first.half_width < 0.1


def test_a_different_seed_moves_the_interval_a_little_not_the_median() -> None:
    samples = noisy(20.0, 12, seed=1)
    a, b = stats.median_ci(samples, seed=1), stats.median_ci(samples, seed=2)
    assert a.median == b.median
    assert a.ci_low == pytest.approx(b.ci_low, rel=0.05)


def test_one_sample_has_a_zero_width_interval() -> None:
    est = stats.median_ci([3.0])
    assert (est.median, est.ci_low, est.ci_high, est.n) == (3.0, 3.0, 3.0, 1)


def test_converged_needs_enough_samples_and_a_narrow_interval() -> None:
    tight = stats.median_ci([10.0, 10.01, 9.99, 10.0, 10.02, 9.98])
    assert stats.converged(tight, 0.025)
    assert not stats.converged(stats.median_ci([10.0, 10.01, 9.99]), 0.025)  # too few samples
    assert not stats.converged(stats.median_ci(noisy(10, 8, seed=3, cv=0.4)), 0.025)


def test_a_real_difference_is_found_with_its_direction() -> None:
    base, tuned = noisy(15.5, 10, seed=4), noisy(19.5, 10, seed=5)
    ratio = stats.ratio_ci(base, tuned, higher_is_better=True)
    assert ratio.verdict is stats.Verdict.BETTER
    assert ratio.ci_low < 19.5 / 15.5 < ratio.ci_high
    latency = stats.ratio_ci(base, tuned, higher_is_better=False)  # higher latency is worse
    assert latency.verdict is stats.Verdict.WORSE


def test_same_distribution_is_no_significant_difference_in_at_least_9_of_10() -> None:
    same = 0
    for rep in range(10):
        a, b = noisy(20.0, 8, seed=100 + rep), noisy(20.0, 8, seed=200 + rep)
        if stats.ratio_ci(a, b, higher_is_better=True).verdict is stats.Verdict.SAME:
            same += 1
    assert same >= 9


def test_a_shift_below_the_smallest_effect_is_not_called() -> None:
    a = [10.0, 10.001, 9.999, 10.0, 10.002, 9.998]
    b = [x * 1.01 for x in a]  # 1% faster, measured very precisely
    ratio = stats.ratio_ci(a, b, higher_is_better=True)
    assert ratio.ci_low > 1  # the CI excludes 1 ...
    assert ratio.verdict is stats.Verdict.SAME  # ... but 1% is below the 2% smallest effect
    assert stats.ratio_ci(a, b, higher_is_better=True, min_effect=0.005).verdict is stats.Verdict.BETTER


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        stats.median_ci([])
    with pytest.raises(ValueError):
        stats.ratio_ci([], [1.0], higher_is_better=True)
