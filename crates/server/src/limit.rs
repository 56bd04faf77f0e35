//! A token bucket per client (API key, or IP address without one).
//!
//! In process memory: with several replicas each enforces its own share, which is what a
//! "simple per-client limit" needs; a shared limit belongs in the load balancer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimit;

/// Above this many tracked clients, buckets that have refilled are forgotten.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(limit: &RateLimit) -> RateLimiter {
        RateLimiter {
            per_second: limit.per_second,
            burst: f64::from(limit.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a limit is set (a rate of 0 turns limiting off).
    pub fn enabled(&self) -> bool {
        self.per_second > 0.0
    }

    /// Takes a token for `client`; `Err(seconds)` says when to retry.
    pub fn check(&self, client: &str, now: Instant) -> Result<(), u64> {
        if !self.enabled() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, bucket| bucket.refilled(now, per_second, burst) < burst);
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = bucket.refilled(now, self.per_second, self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.per_second;
        Err(wait.ceil().max(1.0) as u64)
    }
}

impl Bucket {
    fn refilled(&self, now: Instant, per_second: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * per_second).min(burst)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(&RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("a", start), Ok(()));
        }
        assert_eq!(limiter.check("a", start), Err(1));
        assert_eq!(limiter.check("b", start), Ok(()), "clients have their own buckets");
        assert_eq!(limiter.check("a", start + Duration::from_millis(600)), Ok(()));
    }
}
