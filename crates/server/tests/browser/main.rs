//! Browser tests: the web chat, the demo page, the preview page and the agent console in a real
//! headless Chromium, driven over WebDriver (chromedriver) with `fantoccini`, against the real
//! server on port 0 with a fresh SQLite database and the bank example in development mode.
//! The tests with human agents drive two or three browsers at once (customer and agents).
//!
//! Every test here needs a browser: Debian's `chromium` and `chromium-driver` (`chromium` and
//! `chromedriver` on `PATH`, or `BATON_CHROMIUM` and `BATON_CHROMEDRIVER` naming them). Without
//! them the tests pass as skipped and the first says so on the terminal, so that
//! `cargo test --workspace` passes on a machine with only the Rust toolchain; CI installs them and
//! sets `BATON_REQUIRE_PROGRAMS=1`, under which a missing browser fails every test (`programs`).
//! Tests that need only HTTP belong in the `api` test binary, where they are never skipped.
//!
//! Browser tests run one at a time (a lock in `support`): Chromium is heavy and CI has two cores.

mod access;
mod accessibility;
mod axe;
mod chatwoot;
mod console;
mod preview;
#[path = "../shared/programs.rs"]
mod programs;
mod support;
mod widget;
