"""Reward-KL frontiers and matched-KL comparisons (the DPO paper's protocol for the IMDB world). Pure functions.

Each variant of a method (e.g. DPO at one beta, PPO at one KL coefficient) is one point (KL to SFT, reward).
A method's frontier is the upper-left hull of its points, starting from SFT at KL 0; its reward at a KL
budget is read off the frontier by linear interpolation (a policy mixing two frontier policies reaches
the points between them), flat past its last point up to the largest KL the method reached. A budget
beyond that is a gap: the method never got there.
"""

from __future__ import annotations

Point = tuple[float, float]  # (KL to SFT, metric)


def pareto_frontier(points: list[Point]) -> list[Point]:
    """The points no other point beats with less or equal KL and a higher metric, by increasing KL."""
    frontier: list[Point] = []
    for kl, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not frontier or y > frontier[-1][1]:
            frontier.append((kl, y))
    return frontier


def at_budget(frontier: list[Point], budget: float, reach: float | None = None) -> float | None:
    """The frontier's metric at `budget`: linear between its points, flat from its last point up to `reach`
    (the largest KL any of the method's points got to; a point past the frontier's end gained nothing more),
    None beyond that."""
    reach = frontier[-1][0] if reach is None and frontier else reach
    if not frontier or budget > reach:
        return None
    if budget >= frontier[-1][0]:
        return frontier[-1][1]
    if budget <= frontier[0][0]:
        return frontier[0][1]
    for (x0, y0), (x1, y1) in zip(frontier, frontier[1:]):
        if x0 <= budget <= x1:
            return y0 + (y1 - y0) * (budget - x0) / (x1 - x0)
    return None  # unreachable: budget lies within the frontier's span


def matched(variant_points: list[Point], start: Point, budgets: list[float]) -> list[float | None]:
    """One seed of one method: its variants' points plus the start (SFT at KL 0) -> the metric at each budget."""
    points = [start, *variant_points]
    frontier = pareto_frontier(points)
    reach = max(kl for kl, _ in points)
    return [at_budget(frontier, b, reach) for b in budgets]
