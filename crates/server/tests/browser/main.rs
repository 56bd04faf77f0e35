//! Browser tests: the web chat, the demo page, the preview page and the agent console in a real
//! headless Chromium, driven over WebDriver (chromedriver) with `fantoccini`, against the real
//! server on port 0 with a fresh SQLite database and the bank example in development mode.
//! The tests with human agents drive two or three browsers at once (customer and agents).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`;
//! `BATON_CHROMIUM` and `BATON_CHROMEDRIVER` point elsewhere). Without them every test fails and
//! says so: CI installs them, so a missing browser is a broken setup, not a reason to skip.
//!
//! Browser tests run one at a time (a lock in `support`): Chromium is heavy and CI has two cores.

mod access;
mod accessibility;
mod axe;
mod console;
mod preview;
mod support;
mod widget;
