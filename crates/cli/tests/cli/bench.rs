//! `baton bench http`: a short run names every concurrency and the hello-world reference, each
//! measured in its own process with its processor time, and `--runs` reports medians over
//! several sweeps.

use crate::{example, run, stderr, stdout};

#[test]
fn bench_http_reports_every_concurrency_and_the_reference() {
    let bank = example("bank");
    let output = run(
        &[
            "bench",
            "http",
            "--seconds",
            "1",
            "--runs",
            "2",
            "--idle-sessions",
            "500",
            "--assistant",
            bank.to_str().expect("a UTF-8 path"),
        ],
        "",
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    for concurrency in ["| 1 |", "| 8 |", "| 64 |"] {
        for server in ["baton", "hello-world"] {
            let row = out
                .lines()
                .find(|line| line.starts_with(&format!("| {server} {concurrency}")))
                .unwrap_or_else(|| panic!("no {server} row at {concurrency} in {out}"));
            // | server | sessions | msgs/s | p50 | p99 | CPU µs/msg | requests | errors |
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let cpu: f64 = cells[6].parse().unwrap_or_else(|_| panic!("no CPU figure in {row}"));
            assert!(cpu > 0.0, "{row}");
            assert_eq!(cells[8], "0", "no request failed: {row}");
        }
    }
    // The conversation got the bank example's replies, so the mix is the documented one.
    assert!(!out.contains("Warning"), "{out}");
    assert!(out.contains("Load average before: "), "{out}");
    assert!(out.contains("RSS per 10000 idle sessions"), "{out}");
    let shares = out
        .lines()
        .find_map(|line| line.strip_prefix("Baton's throughput as a share of hello-world's: "))
        .unwrap_or_else(|| panic!("no share line in {out}"));
    for concurrency in [1, 8, 64] {
        assert!(shares.contains(&format!("% at {concurrency}")), "{shares}");
    }
    // Two runs: each server's rate at 64 sessions in each, and the medians above them.
    let per_run = out
        .lines()
        .find_map(|line| line.strip_prefix("Each figure is the median of 2 runs"))
        .unwrap_or_else(|| panic!("no line on the runs in {out}"));
    for server in ["Baton", "hello-world"] {
        let rates = per_run
            .split(&format!("{server} "))
            .nth(1)
            .and_then(|rest| rest.split([',', '.']).next())
            .unwrap_or_else(|| panic!("no rates of {server} in {per_run}"));
        assert_eq!(rates.split(" / ").count(), 2, "{per_run}");
    }
}

#[test]
fn bench_http_names_a_server_that_cannot_start() {
    let bank = example("bank");
    let output = run(
        &[
            "bench",
            "http",
            "--baton",
            "/no/such/baton",
            "--assistant",
            bank.to_str().expect("a UTF-8 path"),
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("starting the Baton server"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bench_sockets_measures_what_an_open_session_socket_keeps() {
    let bank = example("bank");
    let output = run(
        &[
            "bench",
            "sockets",
            "--connections",
            "2000",
            "--json",
            "--assistant",
            bank.to_str().expect("a UTF-8 path"),
        ],
        "",
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(report["connections"], 2000);
    let kib = report["kib_per_connection"].as_f64().expect("a figure on Linux");
    // tungstenite's default read buffer alone kept 128 KiB resident per socket.
    assert!(kib > 0.0 && kib < 64.0, "{kib} KiB per socket");
    assert_eq!(report["limit_mib_for_50000"], 1024.0);

    let refused = run(
        &[
            "bench",
            "sockets",
            "--connections",
            "10",
            "--assistant",
            bank.to_str().unwrap(),
        ],
        "",
    );
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        stderr(&refused).contains("--connections must be at least"),
        "{}",
        stderr(&refused)
    );
}

/// `bench transfer` with `ARGS` on the bank example, `--json`: the report.
pub fn bench_transfer(args: &[&str]) -> serde_json::Value {
    let bank = example("bank");
    let mut all = vec![
        "bench",
        "transfer",
        "--json",
        "--assistant",
        bank.to_str().expect("a UTF-8 path"),
    ];
    all.extend_from_slice(args);
    let output = run(&all, "");
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    serde_json::from_str(&out).expect("one JSON object")
}

#[test]
fn bench_transfer_to_a_slow_webhook_desk_reaches_the_desk_for_every_customer() {
    let report = bench_transfer(&[
        "--desk",
        "webhook",
        "--customers",
        "6",
        "--rate",
        "20",
        "--others",
        "2",
        "--desk-delay-ms",
        "300",
    ]);
    assert_eq!(report["desk"], "webhook");
    assert_eq!(report["requests_at_desk"], 6);
    assert_eq!(report["missing"], 0);
    assert_eq!(report["desk_delay_ms"], 300);
    assert!(report["others_turns"].as_u64().unwrap() > 0, "{report}");
    // The desk answers after 300 ms; the other sessions' turns do not wait for it.
    let others_p99 = report["others_p99_ms"].as_f64().unwrap();
    assert!(others_p99 < 300.0, "{report}");
}

#[test]
fn bench_transfer_to_the_simulated_desks_measures_transfers_and_forwarded_messages() {
    for desk in ["chatwoot", "zendesk", "twilio-flex"] {
        bench_simulated(desk);
    }
}

fn bench_simulated(desk: &str) {
    let report = bench_transfer(&["--desk", desk, "--customers", "5", "--rate", "20", "--others", "2"]);
    assert_eq!(report["desk"], desk.replace('-', "_"));
    assert_eq!(report["requests_at_desk"], 5, "{report}");
    assert_eq!(report["missing"], 0);
    assert_eq!(report["forward_to_desk"]["count"], 5, "{report}");
    assert_eq!(report["forward_from_desk"]["count"], 5, "{report}");
    assert!(report["forward_to_desk"]["p50_ms"].as_f64().unwrap() > 0.0, "{report}");
}
