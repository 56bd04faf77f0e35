//! Prometheus metrics, kept with `prometheus-client` and served in the Prometheus text format
//! (version 0.0.4).
//!
//! The registry belongs to one server rather than to the process (no global recorder, as the
//! `metrics` facade would have), so the servers of one test binary count apart and tests read a
//! server's own figures.
//! The counters, the histogram and the gauges are the crate's, updated with atomics (the
//! histogram under a short lock); the text is the crate's encoder, whose histogram bounds are
//! written as Go clients write them (`le="1"`, not `le="1.0"`), so series keep their names and
//! labels across versions.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use baton_dialog::TransferReason;

/// Upper bounds of the turn latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Every reason is rendered from the start (at 0), so a rate over it exists before the first
/// transfer of that reason.
const REASONS: [TransferReason; 6] = [
    TransferReason::Planned,
    TransferReason::NoActionMatches,
    TransferReason::StepValidationFailed,
    TransferReason::AgentRequested,
    TransferReason::DangerWord,
    TransferReason::Profanity,
];

/// The states a transfer can close in (`baton_desk::TransferState`, by name); any other name is
/// not counted.
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// One server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    messages: Counter,
    replayed: Counter,
    sessions_created: Counter,
    sessions_expired: Counter,
    sessions_deleted: Counter,
    /// Set from the caller's count just before each rendering.
    sessions_active: Gauge,
    turn_duration: Histogram,
    transfers: Family<ReasonLabel, Counter>,
    /// Closed transfers by their final state.
    outcomes: Family<OutcomeLabel, Counter>,
    /// Transfers open now (set at startup from the store, then moved as they open and close).
    transfers_open: OpenTransfers,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::default(),
            messages: Counter::default(),
            replayed: Counter::default(),
            sessions_created: Counter::default(),
            sessions_expired: Counter::default(),
            sessions_deleted: Counter::default(),
            sessions_active: Gauge::default(),
            turn_duration: Histogram::new(LATENCY_BUCKETS),
            transfers: Family::default(),
            outcomes: Family::default(),
            transfers_open: OpenTransfers::default(),
        };
        for reason in REASONS {
            let _ = metrics.transfers.get_or_create(&ReasonLabel {
                reason: reason.as_str(),
            });
        }
        for outcome in OUTCOMES {
            let _ = metrics.outcomes.get_or_create(&OutcomeLabel { outcome });
        }
        // The crate adds `_total` to a counter's name.
        let registry = &mut metrics.registry;
        registry.register("baton_messages", "Customer messages answered", metrics.messages.clone());
        registry.register(
            "baton_messages_replayed",
            "Retried messages answered from the stored reply",
            metrics.replayed.clone(),
        );
        registry.register(
            "baton_sessions_created",
            "Sessions created",
            metrics.sessions_created.clone(),
        );
        registry.register(
            "baton_sessions_expired",
            "Sessions that expired from inactivity",
            metrics.sessions_expired.clone(),
        );
        registry.register(
            "baton_sessions_deleted",
            "Sessions deleted by clients",
            metrics.sessions_deleted.clone(),
        );
        registry.register(
            "baton_sessions_active",
            "Open sessions active within the inactivity timeout, as seen by this process",
            metrics.sessions_active.clone(),
        );
        registry.register(
            "baton_transfers",
            "Transfers requested, by reason",
            metrics.transfers.clone(),
        );
        registry.register(
            "baton_transfers_ended",
            "Transfers closed, by outcome",
            metrics.outcomes.clone(),
        );
        registry.register(
            "baton_transfers_open",
            "Transfers waiting for or talking with a human agent",
            metrics.transfers_open.clone(),
        );
        registry.register(
            "baton_turn_duration_seconds",
            "Time from receiving a message to its committed reply",
            metrics.turn_duration.clone(),
        );
        metrics
    }
}

impl Metrics {
    pub fn message(&self, latency: Duration) {
        self.messages.inc();
        self.turn_duration.observe(latency.as_secs_f64());
    }

    pub fn replayed(&self) {
        self.replayed.inc();
    }

    pub fn session_created(&self) {
        self.sessions_created.inc();
    }

    pub fn session_expired(&self) {
        self.sessions_expired.inc();
    }

    pub fn session_deleted(&self) {
        self.sessions_deleted.inc();
    }

    pub fn transfer(&self, reason: TransferReason) {
        if REASONS.contains(&reason) {
            let label = ReasonLabel {
                reason: reason.as_str(),
            };
            self.transfers.get_or_create(&label).inc();
        }
    }

    /// A transfer was opened (whatever became of it within its first turn).
    pub fn transfer_opened(&self) {
        self.transfers_open.0.fetch_add(1, Ordering::Relaxed);
    }

    /// A transfer closed in state `outcome` (`ended`, `handed_back`, …).
    pub fn transfer_ended(&self, outcome: &str) {
        if let Some(outcome) = OUTCOMES.iter().find(|known| **known == outcome) {
            self.outcomes.get_or_create(&OutcomeLabel { outcome }).inc();
            self.transfers_open.0.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The number of open transfers, as the store counts them at startup.
    pub fn set_transfers_open(&self, open: i64) {
        self.transfers_open.0.store(open, Ordering::Relaxed);
    }

    /// The Prometheus text format; `active_sessions` is counted by the caller.
    pub fn render(&self, active_sessions: u64) -> String {
        self.sessions_active
            .set(i64::try_from(active_sessions).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// A gauge that never shows below zero: a transfer that closes twice (once in the store's count
/// at startup and once as it ends) must not make the open count negative.
#[derive(Debug, Clone, Default)]
struct OpenTransfers(Arc<AtomicI64>);

impl TypedMetric for OpenTransfers {
    const TYPE: MetricType = MetricType::Gauge;
}

impl EncodeMetric for OpenTransfers {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&self.0.load(Ordering::Relaxed).max(0))
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
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
        let expected = [
            "baton_turn_duration_seconds_bucket{le=\"0.0005\"} 0\n",
            "baton_turn_duration_seconds_bucket{le=\"0.001\"} 1\n",
            "baton_turn_duration_seconds_bucket{le=\"0.05\"} 2\n",
            "baton_turn_duration_seconds_bucket{le=\"1\"} 2\n",
            "baton_turn_duration_seconds_bucket{le=\"+Inf\"} 2\n",
            "baton_turn_duration_seconds_count 2\n",
            "baton_messages_total 2\n",
            "baton_transfers_total{reason=\"planned\"} 1\n",
            "baton_transfers_total{reason=\"profanity\"} 0\n",
            "baton_sessions_active 2\n",
        ];
        for line in expected {
            assert!(text.contains(line), "{line:?} in {text}");
        }
    }

    /// The names, types and label sets /metrics had before the registry came from a crate.
    #[test]
    fn every_family_keeps_its_name_type_and_labels() {
        let metrics = Metrics::default();
        let text = metrics.render(0);
        let families = [
            ("baton_messages_total", "counter"),
            ("baton_messages_replayed_total", "counter"),
            ("baton_sessions_created_total", "counter"),
            ("baton_sessions_expired_total", "counter"),
            ("baton_sessions_deleted_total", "counter"),
            ("baton_sessions_active", "gauge"),
            ("baton_transfers_total", "counter"),
            ("baton_transfers_ended_total", "counter"),
            ("baton_transfers_open", "gauge"),
            ("baton_turn_duration_seconds", "histogram"),
        ];
        for (name, kind) in families {
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name} in {text}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name} in {text}");
        }
        let types = text.lines().filter(|line| line.starts_with("# TYPE")).count();
        assert_eq!(types, families.len(), "{text}");
        for reason in REASONS {
            let line = format!("baton_transfers_total{{reason=\"{}\"}} 0\n", reason.as_str());
            assert!(text.contains(&line), "{line} in {text}");
        }
        for outcome in OUTCOMES {
            let line = format!("baton_transfers_ended_total{{outcome=\"{outcome}\"}} 0\n");
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(text.contains("baton_turn_duration_seconds_sum 0.0\n"), "{text}");
    }

    #[test]
    fn open_transfers_move_and_never_show_below_zero() {
        let metrics = Metrics::default();
        metrics.set_transfers_open(1);
        metrics.transfer_opened();
        metrics.transfer_ended("ended");
        assert!(metrics.render(0).contains("baton_transfers_open 1\n"));
        metrics.transfer_ended("handed_back");
        metrics.transfer_ended("handed_back");
        let text = metrics.render(0);
        assert!(text.contains("baton_transfers_open 0\n"), "{text}");
        assert!(
            text.contains("baton_transfers_ended_total{outcome=\"handed_back\"} 2\n"),
            "{text}"
        );
        metrics.transfer_ended("no such state");
        assert!(metrics.render(0).contains("baton_transfers_open 0\n"));
    }
}
