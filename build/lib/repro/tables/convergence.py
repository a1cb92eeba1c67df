"""Steps to converge, one definition for every method (the paper's Table 3 column). Pure functions.

A run's learning curve (record.curve, eval.every_steps) is smoothed by a centred moving average over `window`
evaluated points (shrinking at the ends). Its gain is the smoothed final value minus the value at step 0 (the
SFT policy). The run has converged at the first evaluated step from which the smoothed curve stays within
`tolerance` x gain of its smoothed final value. No gain (the method did not improve on SFT), no step.
"""

from __future__ import annotations

from dataclasses import dataclass


def smooth(values: list[float], window: int) -> list[float]:
    """Centred moving average over `window` points; at the ends the window shrinks to the points it has."""
    half = window // 2
    return [sum(values[max(0, i - half): i + half + 1]) / len(values[max(0, i - half): i + half + 1])
            for i in range(len(values))]


def converged_index(values: list[float], tolerance: float, window: int) -> int | None:
    """Index of the first point from which the smoothed curve stays within tolerance x gain of its end."""
    if len(values) < 2:
        return None
    smoothed = smooth(values, window)
    final = smoothed[-1]
    gain = final - values[0]
    if gain <= 0:
        return None
    index = len(values) - 1
    while index > 0 and abs(smoothed[index - 1] - final) <= tolerance * gain:
        index -= 1
    return index


@dataclass(frozen=True)
class Converged:
    step: int
    samples: int
    wall_s: float | None


def converged(curve: list, metric: str, tolerance: float, window: int) -> Converged | None:
    """Where a record's curve (CurvePoints, by step) converges on `metric`; None without a curve or a gain."""
    points = [p for p in curve if metric in p.metrics]
    if not points or points[0].step != 0:
        return None
    index = converged_index([p.metrics[metric] for p in points], tolerance, window)
    if index is None:
        return None
    point = points[index]
    return Converged(point.step, point.samples, point.wall_s)
