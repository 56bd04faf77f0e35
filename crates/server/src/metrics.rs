//! Prometheus metrics, hand-rolled with atomics.
//!
//! Four families (messages, turn latency, sessions, transfers by reason) do not justify the
//! `metrics` facade and its global recorder: a global recorder would be shared by every server
//! in one test binary, while this struct belongs to one server and its tests read it directly.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use baton_dialog::TransferReason;

/// Upper bounds of the turn latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

const REASONS: [TransferReason; 6] = [
    TransferReason::Planned,
    TransferReason::NoActionMatches,
    TransferReason::StepValidationFailed,
    TransferReason::AgentRequested,
    TransferReason::DangerWord,
    TransferReason::Profanity,
];

#[derive(Debug, Default)]
pub struct Metrics {
    messages: AtomicU64,
    replayed: AtomicU64,
    sessions_created: AtomicU64,
    sessions_expired: AtomicU64,
    sessions_deleted: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    transfers: [AtomicU64; REASONS.len()],
    /// Closed transfers by their final state.
    outcomes: [AtomicU64; OUTCOMES.len()],
    /// Transfers open now (set at startup from the store, then moved as they open and close).
    transfers_open: std::sync::atomic::AtomicI64,
}

/// The states a transfer can close in (`baton_desk::TransferState`, by name).
const OUTCOMES: [&str; 8] = [
    "ended",
    "handed_back",
    "cancelled",
    "abandoned",
    "timed_out",
    "message_left",
    "returned",
    "failed",
];

impl Metrics {
    pub fn message(&self, latency: Duration) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        let seconds = latency.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn replayed(&self) {
        self.replayed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_created(&self) {
        self.sessions_created.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_expired(&self) {
        self.sessions_expired.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_deleted(&self) {
        self.sessions_deleted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn transfer(&self, reason: TransferReason) {
        if let Some(index) = REASONS.iter().position(|known| *known == reason) {
            self.transfers[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A transfer was opened (whatever became of it within its first turn).
    pub fn transfer_opened(&self) {
        self.transfers_open.fetch_add(1, Ordering::Relaxed);
    }

    /// A transfer closed in state `outcome` (`ended`, `handed_back`, …).
    pub fn transfer_ended(&self, outcome: &str) {
        if let Some(index) = OUTCOMES.iter().position(|known| *known == outcome) {
            self.outcomes[index].fetch_add(1, Ordering::Relaxed);
            self.transfers_open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The number of open transfers, as the store counts them at startup.
    pub fn set_transfers_open(&self, open: i64) {
        self.transfers_open.store(open, Ordering::Relaxed);
    }

    /// The Prometheus text format; `active_sessions` is counted by the caller.
    pub fn render(&self, active_sessions: u64) -> String {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            "baton_messages_total",
            "Customer messages answered.",
            load(&self.messages),
        );
        counter(
            "baton_messages_replayed_total",
            "Retried messages answered from the stored reply.",
            load(&self.replayed),
        );
        counter(
            "baton_sessions_created_total",
            "Sessions created.",
            load(&self.sessions_created),
        );
        counter(
            "baton_sessions_expired_total",
            "Sessions that expired from inactivity.",
            load(&self.sessions_expired),
        );
        counter(
            "baton_sessions_deleted_total",
            "Sessions deleted by clients.",
            load(&self.sessions_deleted),
        );
        let _ = writeln!(
            out,
            "# HELP baton_sessions_active Open sessions active within the inactivity timeout, as seen by this process.\n# TYPE baton_sessions_active gauge\nbaton_sessions_active {active_sessions}"
        );
        let _ = writeln!(
            out,
            "# HELP baton_transfers_total Transfers requested, by reason.\n# TYPE baton_transfers_total counter"
        );
        for (reason, count) in REASONS.iter().zip(&self.transfers) {
            let _ = writeln!(
                out,
                "baton_transfers_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                load(count)
            );
        }
        let _ = writeln!(
            out,
            "# HELP baton_transfers_ended_total Transfers closed, by outcome.\n# TYPE baton_transfers_ended_total counter"
        );
        for (outcome, count) in OUTCOMES.iter().zip(&self.outcomes) {
            let _ = writeln!(
                out,
                "baton_transfers_ended_total{{outcome=\"{outcome}\"}} {}",
                load(count)
            );
        }
        let open = self.transfers_open.load(Ordering::Relaxed).max(0);
        let _ = writeln!(
            out,
            "# HELP baton_transfers_open Transfers waiting for or talking with a human agent.\n# TYPE baton_transfers_open gauge\nbaton_transfers_open {open}"
        );
        let _ = writeln!(
            out,
            "# HELP baton_turn_duration_seconds Time from receiving a message to its committed reply.\n# TYPE baton_turn_duration_seconds histogram"
        );
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "baton_turn_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                load(bucket)
            );
        }
        let count = load(&self.latency_count);
        let sum = load(&self.latency_sum_micros) as f64 / 1_000_000.0;
        let _ = writeln!(out, "baton_turn_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "baton_turn_duration_seconds_sum {sum}");
        let _ = writeln!(out, "baton_turn_duration_seconds_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.message(Duration::from_micros(700));
        metrics.message(Duration::from_millis(30));
        metrics.transfer(TransferReason::Planned);
        let text = metrics.render(2);
        assert!(
            text.contains("baton_turn_duration_seconds_bucket{le=\"0.0005\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("baton_turn_duration_seconds_bucket{le=\"0.001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("baton_turn_duration_seconds_bucket{le=\"0.05\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("baton_turn_duration_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("baton_messages_total 2\n"), "{text}");
        assert!(text.contains("baton_transfers_total{reason=\"planned\"} 1\n"), "{text}");
        assert!(text.contains("baton_sessions_active 2\n"), "{text}");
    }
}
