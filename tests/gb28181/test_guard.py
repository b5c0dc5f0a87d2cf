from xueliang.gb28181.guard import Lockout, RateLimiter


def test_rate_limiter_refills():
    limiter = RateLimiter(rate=10, burst=5)
    assert all(limiter.allow("a", 0) for _ in range(5))
    assert not limiter.allow("a", 0)
    assert limiter.allow("b", 0)  # per source
    assert limiter.allow("a", 0.1) and not limiter.allow("a", 0.1)


def test_rate_limiter_forgets_old_sources():
    limiter = RateLimiter(rate=1, burst=1, capacity=3)
    for source in "abcd":
        limiter.allow(source, 0)
    assert limiter.allow("a", 0)  # "a" was evicted, so it starts with a full bucket


def test_lockout_after_failures_in_window():
    lock = Lockout(max_failures=3, window=60, lockout=100)
    assert not lock.failure("ip", 0) and not lock.failure("ip", 10)
    assert lock.failure("ip", 20) and lock.locked("ip", 50)
    assert not lock.locked("ip", 120)


def test_failures_outside_window_and_success_reset():
    lock = Lockout(max_failures=3, window=60, lockout=100)
    lock.failure("ip", 0)
    lock.failure("ip", 10)
    assert not lock.failure("ip", 75)  # the first two fell out of the window
    lock.success("ip")
    assert not lock.failure("ip", 76) and not lock.locked("ip", 76)
