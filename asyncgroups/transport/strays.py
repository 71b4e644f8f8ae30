"""Which 429s are about rate: the evidence of what followed the last pause.

A 429 caused by sending too fast stops once the client pauses and slows down: the
requests sent after such a reaction are answered without 429 for a long while (a
rate-caused 429 ends an episode of hundreds of answers). A 429 the server sends at
random, whatever the rate (a busy shard, a noisy neighbour), keeps coming at the
same share however slowly the client goes. TCP draws the same line between loss
and congestion.

[`StrayDetector`][asyncgroups.transport.strays.StrayDetector] keeps that evidence. In
its first mode every 429 is about rate: it closes the whole Client's gate and lowers
the rate. A 429 that follows such a reaction at a moderate share (or among the first
answers after the pause, which the server's refilled burst should have covered) is
put to the test: another pause, and half the rate. If 429s keep coming at a moderate
share even so, they are judged stray, and the test's decrease is taken back: from
then on a 429 holds only the request it answered (which the retrying layer re-sends
after its ``Retry-After``), until the evidence changes: far more 429s than the stray
share over the last answers (the rate is too high after all: a pause and a lower
rate, and the share is watched afresh), or the stray 429s stop. Pure logic, no clock
of its own: it counts answers.
"""

import math
from collections import deque

__all__ = ["StrayDetector"]


class StrayDetector:
    """Judges each 429: about rate (gate and slow down) or stray (hold one request).

    Args:
        min_share: below this share of 429s after a reaction, the pause worked
            (the 429s were about rate).
        max_share: above it, slowing down did not go far enough yet (about rate).
        window: answers over which, once 429s are stray, their share is watched.
    """

    __slots__ = (
        "_episode",
        "_first",
        "_recent",
        "_stray_429s",
        "_suspect",
        "_window",
        "baseline",
        "burst",
        "max_share",
        "min_share",
        "reacted_at",
        "spurious",
        "stray",
        "testing",
    )

    def __init__(
        self, *, min_share: float = 0.01, max_share: float = 0.3, window: int = 100
    ) -> None:
        self.min_share = min_share
        self.max_share = max_share
        self._window = window
        #: Whether 429s are judged stray now.
        self.stray = False
        #: Whether the last reaction tests the evidence (a pause and half the
        #: rate): a moderate share of 429s again then means they are stray.
        self.testing = False
        #: The share of stray 429s last measured (0: never judged stray).
        self.baseline = 0.0
        #: When the last reaction (gate and slow-down) happened.
        self.reacted_at = -math.inf
        self._episode = 0  # answers to requests sent after the last reaction
        #: Answers that got through to requests sent up to the first 429 (the
        #: server's burst, as far as it shows).
        self.burst = 0
        self._first = math.inf  # when the request of the first 429 was sent
        self._suspect = 0  # reactions made while the evidence was gathered
        #: Reactions (gate and decrease) just found to have answered stray 429s;
        #: the limiter takes their decreases back and sets this to 0.
        self.spurious = 0
        self._recent: deque[bool] = deque(maxlen=window)
        self._stray_429s = 0  # 429s among self._recent

    def answered(self, sent_at: float | None) -> None:
        """A non-429 answer arrived for a request sent at ``sent_at``."""
        if sent_at is not None and sent_at <= self._first:
            self.burst += 1  # what got through before the first 429
        if self.stray:
            self._note(False)
            full = len(self._recent) == self._window
            if full and self._stray_429s == 0 and self.baseline * self._window >= 3:
                self._leave()  # the stray 429s stopped: every 429 is about rate
        elif sent_at is None or sent_at >= self.reacted_at:
            self._episode += 1
            if self.testing and self._episode * self.min_share >= 1.0:
                self._end_test()  # no 429 at half the rate: it was about rate

    def is_about_rate(
        self, now: float, sent_at: float | None, climbed: bool = False
    ) -> bool:
        """Judge a 429 that arrived at ``now`` for a request sent at ``sent_at``.

        ``climbed``: the client sends faster now than the last reaction left it
        (a probe above the limit): such a 429 is about rate and no evidence of
        stray ones.

        Returns:
            True: react (close the gate, slow down); False: hold only its request.
        """
        if self.stray:
            self._note(True)
            if self._stray_429s <= self._threshold():
                return False
            # far more 429s than stray ones: the rate is too high after all (a
            # pause and a lower rate); the stray share is watched afresh
            self._recent.clear()
            self._stray_429s = 0
            return self._react(now)
        if sent_at is not None and sent_at <= self.reacted_at:
            return True  # sent before the last reaction: part of the same burst
        if self.reacted_at == -math.inf:
            self._first = now if sent_at is None else sent_at
            return self._react(now)  # the first 429: nothing to compare yet
        if climbed:
            return self._react(now)  # probing above the limit: about rate
        share = 1.0 / (self._episode + 1)
        if share < self.min_share:
            self._end_test()  # hundreds of answers: the last pause worked
            return self._react(now)
        if self._episode < 3:
            # a 429 among the first answers after a pause is no rate's doing
            # when the server's burst (refilled by the pause) covers them
            if self._episode >= self.burst:
                return self._react(now)  # too few answers to tell
        elif share > self.max_share:
            return self._react(now)  # a run of 429s: about rate
        if self.testing or self.baseline > 0.0:
            # 429s keep coming at a moderate share although the client paused
            # and (testing) went at half its rate: they are not about rate
            self.stray = True
            self.spurious = self._suspect
            self._end_test()
            if self.baseline == 0.0:
                self.baseline = min(share, 0.05)
            self._recent.clear()
            self._stray_429s = 0
            self._note(True)
            return False
        # a moderate share after a pause: test it, pausing and halving the rate
        self.testing = True
        self._suspect += 1
        return self._react(now)

    def _end_test(self) -> None:
        self.testing = False
        self._suspect = 0

    def _react(self, now: float) -> bool:
        self.reacted_at = now
        self._episode = 0
        return True

    def _leave(self) -> None:
        self.stray = False

    def _note(self, throttled: bool) -> None:
        recent = self._recent
        if len(recent) == self._window and recent[0]:
            self._stray_429s -= 1
        recent.append(throttled)
        if throttled:
            self._stray_429s += 1
        if len(recent) == self._window and self._stray_429s <= self._threshold():
            # follow the stray share slowly (an average over a few windows), never
            # past what still counts as stray: excess 429s do not raise the bar
            share = self._stray_429s / self._window
            self.baseline += (share - self.baseline) / (4 * self._window)
            self.baseline = min(self.baseline, self.max_share / 2)

    def _threshold(self) -> float:
        """Most 429s in the window still consistent with the stray share."""
        expected = self.baseline * len(self._recent)
        spread = math.sqrt(max(expected * (1.0 - self.baseline), 1.0))
        return expected + 3.0 * spread + 2.0
