"""The adaptive rate controller: CUBIC-style decrease on throttling, then recovery.

The same scheme as the AWS SDKs' adaptive retry mode: the client measures the rate it
actually sends at; on a throttle it remembers that rate as ``w_max`` and drops to
``beta * w_max`` (multiplicative decrease); after that the allowed rate follows the
CUBIC curve ``scale * (t - K) ** 3 + w_max``, which climbs back quickly, lingers near
``w_max`` and then probes above it. The rate is also held to twice the measured rate,
so an idle client does not bank a huge allowance. Pure logic on an injected time.
"""

import math
from collections import deque

from asyncgroups.transport.meter import RateMeter

__all__ = ["AdaptiveRate", "RateMeter"]

#: Seconds over which the most that got through puts a floor under a limit found.
_FLOOR_WINDOW = 0.5


class AdaptiveRate:
    """Decides the allowed send rate from throttles and successes.

    Args:
        ceiling: the configured rate, never exceeded; ``None`` means unlimited.
        beta: the multiplicative decrease factor.
        scale: the CUBIC scale constant (requests/s per s³).
        min_rate: the lowest rate ever set.
        cooldown: seconds after a decrease during which sends are not blamed again.
        hold_share: once recovered, the rate is held at this share of ``w_max``
            (just below the rate that was throttled) before probing above it.
        max_plateau: the longest such hold, in seconds. It starts at 0 and doubles
            (from 5 s) each time a throttle lands within 10 % of the last
            ``w_max``: a stable limit is probed ever more rarely, as each probe costs
            a 429 and a pause of the whole Client.
        ceiling_share: after a 429 at the configured rate (``ceiling``), now and
            then, the rate is held at this share of it ...
        ceiling_hold: ... for this many seconds, then climbs back to it.
        found_share: the share of the limit held once measured from a resume
            (see `limit_found`).
        found_window: the shortest span, in seconds, such a measure covers.
    """

    def __init__(
        self,
        ceiling: float | None,
        *,
        beta: float = 0.7,
        scale: float = 0.4,
        min_rate: float = 0.5,
        cooldown: float = 1.0,
        hold_share: float = 0.95,
        max_plateau: float = 40.0,
        ceiling_share: float = 0.98,
        ceiling_hold: float = 10.0,
        min_plateau: float = 5.0,
        found_share: float = 0.98,
        found_window: float = 0.25,
    ) -> None:
        self.ceiling = math.inf if ceiling is None else ceiling
        self.beta = beta
        self.scale = scale
        self.min_rate = min_rate
        self.cooldown = cooldown
        self.hold_share = hold_share
        self.max_plateau = max_plateau
        self.ceiling_share = ceiling_share
        self.min_plateau = min_plateau
        self.ceiling_hold = ceiling_hold
        self.found_share = found_share
        self.found_window = found_window
        self._hold_share = hold_share  # the share of w_max held now
        self._holding = False  # on the plateau (not climbing, not probing)
        self.meter = RateMeter()
        #: Answers that were not throttles, over the same window (the goodput).
        self.ok_meter = RateMeter(2.0)
        self.rate = self.ceiling
        self.lowered = False
        self.w_max = 0.0
        #: Seconds the rate is held just below ``w_max`` before probing above it.
        self.plateau = 0.0
        self._k = 0.0
        self._last_throttle = 0.0
        self._before: deque[tuple[float, bool, float, float, float, float]] = deque(
            maxlen=4
        )
        #: Requests the server let through at once before its first 429 (its
        #: burst), once known.
        self.burst_seen: int | None = None
        self._oks = 0  # answers that got through since the last pause
        # Before the first 429: requests in flight; answers that got through
        # before the last request sent alone, and before the one that started
        # the last rush (sent one at a time, the server's bucket refilled
        # between them: they were no part of its burst).
        self._flying = self._lone = self._before_rush = 0
        self._lone_at = self._rush_from = -math.inf  # when they were sent
        #: When they arrived (kept once throttled, for `limit_found`).
        self._ok_times: deque[float] = deque(maxlen=20_000)
        self._sent_times: deque[float] = deque(maxlen=20_000)  # sends, the same
        self._resumed: float | None = None  # the first send after it
        self._reopen = math.inf  # when the last pause ended
        self._curve_from = 0.0  # the curve's time runs from the end of a pause
        self._found = 0.0  # the limit last measured by `limit_found`
        self._pause = math.inf  # how long the last pause was

    def undo(self, decreases: int, now: float) -> float:
        """Take back the last ``decreases`` decreases (their 429s were stray).

        The rate, ``w_max`` and the curve return to what they were before the
        earliest of them, as TCP undoes a window cut for a loss that proved
        spurious. Returns the rate now.
        """
        before = self._before
        if decreases <= 0 or not before:
            return self.rate
        for _ in range(min(decreases, len(before)) - 1):
            before.pop()
        rate, self.lowered, self.w_max, self.plateau, _, _ = before.pop()
        # the curve goes on from the restored rate, climbing back to hold
        self._hold_share = self.hold_share
        hold = self.hold_share * self.w_max
        self._k = ((hold - rate) / self.scale) ** (1.0 / 3.0) if rate < hold else 0.0
        self._last_throttle = now
        self.rate = rate
        return self.rate

    def sent(self, now: float) -> None:
        """Note one request sent."""
        self.meter.record(now)
        if not self.lowered:
            if self._flying == 0:
                self._lone, self._lone_at = self._oks, now
            else:  # sent beside another: from the last one sent alone on
                self._before_rush, self._rush_from = self._lone, self._lone_at
            self._flying += 1
        if self._resumed is None:
            # the first send after a pause: what got through before it does not
            # count, except that before the first one it was the server's burst
            if self.burst_seen is None and self.lowered:
                self.burst_seen = max(0, self._oks - self._before_rush)
            self._resumed = now
            self._oks = 0
            self._ok_times.clear()
            self._sent_times.clear()
        if self.lowered:
            self._sent_times.append(now)

    def paused(self, until: float = math.inf) -> None:
        """The Client paused (a 429 gate) until ``until``: measure afresh after."""
        self._reopen = until
        self._pause = until - self._last_throttle
        if math.isfinite(until):
            self._curve_from = until  # no climbing while nothing is sent
        self.meter.clear()
        self.ok_meter.clear()
        self._resumed = None

    def limit_seen(self, now: float) -> float:
        """The server's limit, as the run since the last pause shows it (0: unknown).

        A pause refills the server's bucket; sent faster than its limit, it
        lets ``burst + limit * T`` requests through in the ``T`` seconds to its
        next 429, and its burst is known from the first 429 (what got through
        at once before it).
        """
        burst = self.burst_seen
        resumed = self._resumed
        if burst is None or resumed is None:
            return 0.0
        span = now - resumed
        if span < 0.3 or self._oks <= burst:
            return 0.0
        return (self._oks - burst) / span

    def limit_found(self, now: float) -> float:
        """The server's limit, measured from the last resume to a 429 now (0: unknown).

        The pause before the resume refilled the server's bucket; a 429 now says
        it is empty. In any span ending now, what got through is at most
        ``burst + limit * span``, with equality from the last moment the bucket
        was full: the largest ``(got through - burst) / span`` over the spans
        since the resume (at least ``found_window`` long) is the limit, whether
        the client sent above it all along or climbed to it from below.
        """
        burst = self.burst_seen
        if burst is None or self._resumed is None:
            return 0.0
        window = self.found_window
        longest = now - window
        best = 0.0
        for count, stamp in enumerate(reversed(self._ok_times), 1):
            if stamp <= longest and count > burst:
                # a 429 now: less than one token left (half, on average)
                best = max(best, (count - burst + 0.5) / (now - stamp))
        if best <= 0.0:
            return best
        # Any span since the resume shows at most ``burst + limit * span``, so
        # the most that got through in one half second is a floor under the
        # limit (sends cut short by answers held for their Retry-After, just
        # before this 429, make the spans ending now fall short of it).
        times = self._ok_times
        trailing = iter(times)
        first = next(trailing, now)
        count = 0
        for stamp in times:
            count += 1
            while stamp - first > _FLOOR_WINDOW:
                first = next(trailing)
                count -= 1
            if count > burst:
                best = max(best, (count - burst) / _FLOOR_WINDOW)
        return best

    def _sends_per_ok(self, sent_at: float | None) -> float:
        """Requests sent since the resume (before ``sent_at``) per one that got through."""
        if sent_at is None or self._oks <= 0:
            return 1.0
        sends = sum(1 for stamp in self._sent_times if stamp < sent_at)
        return min(1.5, max(1.0, sends / self._oks))

    def on_throttle(
        self,
        now: float,
        sent_at: float | None = None,
        deep: bool = False,
        burst: int = 0,
    ) -> float:
        """A 429 arrived: remember the rate and decrease it. Returns the new rate.

        A throttle of a request sent before the last decrease, or after it but
        before its pause ended (at most ``cooldown`` seconds after it), is ignored: the rate was already lowered for that burst
        and the server's bucket needs a moment to refill (one decrease per round,
        as TCP), so a burst of 429s does not collapse the rate.

        ``deep``: go to half the basis (a test of whether 429s are about rate).
        ``burst``: what the server let through at once before its first 429, as
        counted by requests sent up to it (0: count it here, from the answers
        before the first pause).
        """
        if burst > self._before_rush and self.lowered:
            self.burst_seen = burst - self._before_rush
        if (
            sent_at is not None
            and self.lowered
            and sent_at < self._last_throttle + self.cooldown
            and sent_at < self._reopen
        ):
            return self.rate
        # a handful of sends (just after a pause) tell nothing about the rate
        # what was sent one at a time before a rush is no rate
        since = -math.inf if self.lowered else self._rush_from
        measured = self.meter.rate(now, since) if self.meter.count(now) >= 5 else 0.0
        current = self.rate if math.isfinite(self.rate) else measured
        basis = min(measured, current) if measured > 0 else current
        goodput = self.ok_meter.rate(now) if self.ok_meter.covers(now) else 0.0
        beta = self.beta
        if 0 < goodput < basis:
            # Over the limit, what got through is the limit; the pause that
            # follows a 429 refills the server's bucket, so going just below it
            # is enough: no deeper cut to drain a queue.
            basis, beta = goodput, self.hold_share
        found = 0.0 if deep else self.limit_found(now) * self._sends_per_ok(sent_at)
        refilled = self._pause * found >= (self.burst_seen or 0)
        if found * self.found_share < 0.85 * basis * beta and not refilled:
            # far below what got through: the bucket was not emptied by the
            # rate (or its burst is overcounted); the measure says nothing
            found = 0.0
        if found > 0:
            # measured from the resume, the server's burst taken out: the
            # limit itself; hold just below it, in sends: what was refused
            # before this 429 (stray 429s) took no share of it; never above
            # the rate this 429 answered (a 429 does not raise the rate)
            if current > 0:
                found = min(found, current)
            basis, beta = found, self.found_share
        first_in_a_while = not self.lowered or now - self._last_throttle > 30.0
        at_ceiling = current >= 0.9 * self.ceiling
        if at_ceiling:
            # at the configured rate, a 429 is about that rate being a touch
            # high or about jitter: no test at half the rate
            deep = False
        if at_ceiling and first_in_a_while:
            # Throttled at the configured rate, now and then: that rate is the
            # server's limit or near it (timing jitter let one request too
            # many through). The pause refilled the server's bucket; resume
            # paced just below the configured rate and hold there a while.
            basis, beta = self.ceiling, self.ceiling_share
            self.plateau = max(self.plateau, self.ceiling_hold)
        elif (self._holding and not deep) or at_ceiling:
            # throttled while holding just below the last limit found: that
            # limit was a little high (what got through then included the
            # server's burst); go just below the rate held, no deeper
            beta = max(beta, self.hold_share)
        elif deep or (self._resumed is not None and 1 <= self._oks < 3):
            # a test, or a 429 among the first answers after a pause: far
            # above the limit
            beta = min(beta, 0.5)
        if not math.isfinite(basis) or basis <= 0:
            return self.rate  # nothing measured: the pause alone must do
        self._before.append(
            (
                self.rate,
                self.lowered,
                self.w_max,
                self.plateau,
                self._k,
                self._last_throttle,
            )
        )
        if basis == self.ceiling and beta == self.ceiling_share:
            pass  # the plateau is set above
        elif found > 0:
            # the limit measured: hold there a while; measured again where it
            # was, hold longer (each probe above it costs a pause)
            again = self._found > 0 and abs(found - self._found) <= 0.05 * self._found
            # a pause too short to refill the burst (an exact Retry-After)
            # makes the measure low: probe again sooner
            burst = self.burst_seen or 0
            least = 1.0 if self._pause * found < burst else 4.0
            self.plateau = min(
                self.max_plateau,
                max(least * self.min_plateau, 2.0 * self.plateau)
                if again
                else max(least * self.min_plateau, self.plateau),
            )
            self._found = found
        elif 0.8 * self.w_max <= basis <= 1.25 * self.w_max:
            self.plateau = min(
                self.max_plateau, max(self.min_plateau, 2.0 * self.plateau)
            )
        else:
            self.plateau = 0.0
        self.w_max = basis
        drop = max(0.0, self.hold_share - beta)
        if beta > self.hold_share:
            # the hold is beta itself (just below the configured rate)
            drop = 0.0
        self._k = (basis * drop / self.scale) ** (1.0 / 3.0)
        self._last_throttle = now
        self.lowered = True
        self._holding = False
        self._hold_share = max(self.hold_share, beta)
        self.rate = max(self.min_rate, min(self.ceiling, basis * beta))
        return self.rate

    def on_success(self, now: float) -> float:
        """An answer that was not a throttle arrived. Returns the (new) rate."""
        self._oks += 1
        if not self.lowered:
            self._flying -= 1
            return self.rate
        if self._resumed is None:
            # an answer during a pause: to a request sent before it (latency),
            # no goodput after it; the rate is left as the 429 set it
            return self.rate
        self._ok_times.append(now)
        self.ok_meter.record(now)
        self._holding = False
        dt = now - max(self._last_throttle, self._curve_from) - self._k
        hold = self._hold_share * self.w_max
        if dt < 0.0:
            cubic = self.scale * dt**3 + hold
        elif dt < self.plateau:
            cubic = hold
            self._holding = True
        else:
            cubic = self.scale * (dt - self.plateau) ** 3 + hold
        # held to twice the rate measured, once measured (not just after a
        # pause: a young meter would make the rate dip, then climb back)
        meter = self.meter
        allowed = (
            max(2.0 * meter.rate(now), self.beta * self.w_max)
            if meter.covers(now)
            else math.inf
        )
        rate = min(cubic, allowed, self.ceiling)
        self.rate = max(self.min_rate, rate)
        return self.rate
