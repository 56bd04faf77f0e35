//! A rate limit per client (API key, or IP address without one): `governor`'s keyed limiter.
//!
//! In process memory: with several replicas each enforces its own share, which is what a
//! "simple per-client limit" needs; a shared limit belongs in the load balancer.
//! The limiter is governor's generic cell rate algorithm, which admits exactly what a token
//! bucket of `burst` tokens refilled at `per_second` admits, with one timestamp per client
//! instead of a count and a timestamp.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter as Governor};

use crate::config::RateLimit;

/// Above this many tracked clients, the ones whose allowance has refilled are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// Governor's limiter keyed by client, with its state in a mutex-guarded `HashMap`.
type Keyed<C> = Governor<String, HashMapStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limit of a server's clients; `C` is the clock (a fake one in tests).
#[derive(Debug)]
pub struct RateLimiter<C: Clock = MonotonicClock> {
    /// `None` when no limit is set.
    governor: Option<Keyed<C>>,
    clock: C,
}

impl RateLimiter {
    pub fn new(limit: &RateLimit) -> RateLimiter {
        RateLimiter::with_clock(limit, MonotonicClock)
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    /// A limiter reading the time from `clock`.
    pub fn with_clock(limit: &RateLimit, clock: C) -> RateLimiter<C> {
        let governor = quota(limit).map(|quota| Governor::hashmap_with_clock(quota, clock.clone()));
        RateLimiter { governor, clock }
    }

    /// Whether a limit is set (a rate of 0 turns limiting off).
    pub fn enabled(&self) -> bool {
        self.governor.is_some()
    }

    /// Counts a request of `client`; `Err(seconds)` says when to retry (at least 1).
    pub fn check(&self, client: &str) -> Result<(), u64> {
        let Some(governor) = &self.governor else {
            return Ok(());
        };
        if governor.len() > PRUNE_ABOVE {
            governor.retain_recent();
        }
        match governor.check_key(&client.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(wait.as_secs_f64().ceil().max(1.0) as u64)
            }
        }
    }
}

/// The quota of `limit`, or `None` when it sets no limit: a rate of zero, a negative or NaN one,
/// or one so fast that a request's share of time is under a nanosecond.
fn quota(limit: &RateLimit) -> Option<Quota> {
    let enabled = limit.per_second > 0.0;
    if !enabled {
        return None;
    }
    let burst = NonZeroU32::new(limit.burst.max(1))?;
    // The crate counts time in u64 nanoseconds and multiplies the period by the burst: keep
    // their product far below the limit (a quarter of it is 146 years), so an absurd rate from
    // the configuration slows to that rather than overflowing.
    let longest = Duration::from_nanos(u64::MAX / 4 / u64::from(burst.get()));
    let period = Duration::try_from_secs_f64(1.0 / limit.per_second).map_or(longest, |period| period.min(longest));
    Quota::with_period(period).map(|quota| quota.allow_burst(burst))
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(per_second: f64, burst: u32) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let limit = RateLimit { per_second, burst };
        (RateLimiter::with_clock(&limit, clock.clone()), clock)
    }

    #[test]
    fn burst_then_refill() {
        let (limiter, clock) = limiter(2.0, 3);
        for _ in 0..3 {
            assert_eq!(limiter.check("a"), Ok(()));
        }
        assert_eq!(limiter.check("a"), Err(1));
        assert_eq!(limiter.check("b"), Ok(()), "clients have their own buckets");
        clock.advance(Duration::from_millis(600));
        assert_eq!(limiter.check("a"), Ok(()));
        assert_eq!(limiter.check("a"), Err(1));
    }

    #[test]
    fn retry_after_counts_whole_seconds_until_the_next_request_is_allowed() {
        // One login every ten seconds, five at once: the sixth waits ten seconds.
        let (limiter, clock) = limiter(0.1, 5);
        for _ in 0..5 {
            assert_eq!(limiter.check("ip:1"), Ok(()));
        }
        assert_eq!(limiter.check("ip:1"), Err(10));
        clock.advance(Duration::from_millis(2_500));
        assert_eq!(limiter.check("ip:1"), Err(8));
        clock.advance(Duration::from_millis(7_500));
        assert_eq!(limiter.check("ip:1"), Ok(()));
    }

    #[test]
    fn a_rate_of_zero_or_less_turns_the_limit_off() {
        for per_second in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let (limiter, _) = limiter(per_second, 1);
            assert!(!limiter.enabled(), "{per_second}");
            for _ in 0..100 {
                assert_eq!(limiter.check("a"), Ok(()), "{per_second}");
            }
        }
    }

    #[test]
    fn absurd_limits_do_not_panic() {
        for (per_second, burst) in [(1e-300, u32::MAX), (f64::MIN_POSITIVE, 1), (1e300, 0), (0.5, 0)] {
            let (limiter, clock) = limiter(per_second, burst);
            let _ = limiter.check("a");
            let _ = limiter.check("a");
            clock.advance(Duration::from_secs(3600));
            let _ = limiter.check("a");
        }
        // A burst of 0 allows one request, as a burst of 1 does.
        let (limiter, _) = limiter(0.5, 0);
        assert_eq!(limiter.check("a"), Ok(()));
        assert_eq!(limiter.check("a"), Err(2));
    }

    #[test]
    fn clients_whose_allowance_refilled_are_forgotten_past_the_bound() {
        let (limiter, clock) = limiter(1.0, 1);
        for client in 0..=PRUNE_ABOVE {
            assert_eq!(limiter.check(&client.to_string()), Ok(()));
        }
        let governor = limiter.governor.as_ref().unwrap();
        assert_eq!(governor.len(), PRUNE_ABOVE + 1);
        clock.advance(Duration::from_secs(2));
        assert_eq!(limiter.check("late"), Ok(()));
        assert_eq!(governor.len(), 1, "only the client just seen is left");
    }
}
