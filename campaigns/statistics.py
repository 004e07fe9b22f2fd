"""The statistics of A/B tests, as pure functions over counts.

Rates (human open rate, human click rate) are compared with the two-proportion
z-test; revenue per recipient with Welch's t-test, which does not assume equal
variances (a few big orders make revenue very uneven). With three or four
variants the best one must beat every other, each at the Bonferroni-corrected
level, so testing more variants does not make a lucky winner likelier.
Confidence intervals: Wilson's for rates, the t interval for means.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


@dataclass(frozen=True)
class RateSample:
    label: str
    trials: int  # recipients the mail reached
    successes: int  # of them, those who opened (or clicked)

    @property
    def value(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class MeanSample:
    label: str
    n: int  # recipients
    total: float  # revenue of all of them
    total_squares: float  # sum of each recipient's revenue squared

    @property
    def value(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """The sample variance (n - 1 in the denominator)."""
        if self.n < 2:
            return 0.0
        return max(0.0, (self.total_squares - self.total**2 / self.n) / (self.n - 1))


@dataclass(frozen=True)
class Comparison:
    statistic: float
    p_value: float
    df: float | None = None  # degrees of freedom, for the t-test


@dataclass(frozen=True)
class Verdict:
    best: str  # the label with the best observed value
    significant: bool
    test: str  # the name of the test, as the page shows it
    p_value: float | None  # the largest p-value of the best against the others
    alpha: float  # the level each comparison had to pass

    @property
    def confidence(self) -> float | None:
        return None if self.p_value is None else 1 - self.p_value


def two_proportion_z_test(a: RateSample, b: RateSample) -> Comparison:
    """Two-sided test that two rates differ, with the pooled standard error."""
    if not a.trials or not b.trials:
        return Comparison(0.0, 1.0)
    pooled = (a.successes + b.successes) / (a.trials + b.trials)
    error = math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials))
    if error == 0:
        return Comparison(0.0, 1.0)
    z = (a.value - b.value) / error
    return Comparison(z, 2 * (1 - _NORMAL.cdf(abs(z))))


def welch_t_test(a: MeanSample, b: MeanSample) -> Comparison:
    """Two-sided test that two means differ, without assuming equal variances."""
    if a.n < 2 or b.n < 2:
        return Comparison(0.0, 1.0)
    va, vb = a.variance / a.n, b.variance / b.n
    if va + vb == 0:
        return Comparison(0.0, 1.0 if a.value == b.value else 0.0)
    t = (a.value - b.value) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    return Comparison(t, student_t_two_sided_p(t, df), df)


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    return _regularised_incomplete_beta(df / 2, 0.5, df / (df + t * t))


def wilson_interval(sample: RateSample, confidence: float) -> tuple[float, float]:
    if not sample.trials:
        return 0.0, 0.0
    z = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    n, p = sample.trials, sample.value
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(sample: MeanSample, confidence: float) -> tuple[float, float]:
    if sample.n < 2:
        return sample.value, sample.value
    quantile = student_t_quantile(1 - (1 - confidence) / 2, sample.n - 1)
    half = quantile * math.sqrt(sample.variance / sample.n)
    return sample.value - half, sample.value + half


def student_t_quantile(probability: float, df: float) -> float:
    """The t value below which `probability` of the distribution lies (0.5-1), by bisection."""
    low, high = 0.0, 1000.0
    for _ in range(100):
        middle = (low + high) / 2
        if 1 - student_t_two_sided_p(middle, df) / 2 < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def verdict(samples: list, *, confidence: float) -> Verdict:
    """Is the best-looking variant better than each other one? `samples` are
    all RateSample or all MeanSample, in variant order."""
    is_rate = isinstance(samples[0], RateSample)
    compare = two_proportion_z_test if is_rate else welch_t_test
    test = "two-proportion z-test" if is_rate else "Welch's t-test"
    best = max(samples, key=lambda sample: sample.value)
    others = [sample for sample in samples if sample is not best]
    alpha = (1 - confidence) / max(1, len(others))
    if len(others) > 1:
        test += f", Bonferroni-corrected for {len(others)} comparisons"
    p_values = [compare(best, other).p_value for other in others]
    worst = max(p_values, default=1.0)
    tied = any(other.value == best.value for other in others)
    return Verdict(
        best=best.label,
        significant=not tied and worst < alpha,
        test=test,
        p_value=worst,
        alpha=alpha,
    )


def _regularised_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) by its continued fraction (Numerical Recipes, betacf)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-14:
            break
    return result
