"""Back-off and registration refresh."""

import pytest

from xueliang.cascade import Backoff, refresh_after


def test_backoff_doubles_up_to_the_cap():
    backoff = Backoff(initial=2, factor=2, cap=30, jitter=0)
    assert [backoff.delay(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30  # no overflow however long it fails


def test_backoff_jitter_spreads_around_the_base():
    backoff = Backoff(initial=10, jitter=0.2)
    assert backoff.delay(1, 0.0) == pytest.approx(8) and backoff.delay(1, 0.999999) == pytest.approx(12)
    assert backoff.delay(1) == 10


@pytest.mark.parametrize("args", [(0,), (1, 1.0), (1, -0.1)])
def test_backoff_rejects_nonsense(args):
    with pytest.raises(ValueError):
        Backoff().delay(*args)
    with pytest.raises(ValueError):
        Backoff(initial=0)


def test_refresh_comes_before_expiry():
    assert refresh_after(3600) == 3240  # 90 %
    assert refresh_after(120) == 90  # at least 30 s early
    assert refresh_after(60) == 30  # never before half
    with pytest.raises(ValueError):
        refresh_after(0)
