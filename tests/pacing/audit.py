"""An independent reading of the pacing rules, to audit what the pacer decided."""

from collections.abc import Iterable, Sequence

from pacing.pacer import Policy

SECOND = 1000


def numbers(count: int, *, prefix: str = "+1555") -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(count)]


def next_free_ms(history: Sequence[int], policy: Policy, now_ms: int) -> int:
    """When a number with these attempts (oldest first) may call again: by brute force over the window."""
    free = now_ms
    if history and policy.gap_s:
        free = max(free, history[-1] + policy.gap_ms)
    if policy.cap:
        in_window = [t for t in history if t > now_ms - policy.window_ms]
        if len(in_window) >= policy.cap:
            free = max(free, in_window[-policy.cap] + policy.window_ms)
    return free


def violations(history: Iterable[int], policy: Policy) -> list[str]:
    """Every gap shorter than the policy's, and every window-long span holding more than `cap` attempts."""
    times = sorted(history)
    found = [
        f"gap {b - a} ms at {b}" for a, b in zip(times, times[1:], strict=False) if b - a < policy.gap_ms
    ]
    if policy.cap:
        for i, t in enumerate(times):  # the span ending at each attempt is the fullest one ending there
            in_span = sum(1 for u in times[: i + 1] if u > t - policy.window_ms)
            if in_span > policy.cap:
                found.append(f"{in_span} attempts in the {policy.window_s} s before {t}")
    return found
