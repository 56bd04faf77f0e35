//! stub
use chrono::NaiveTime;
pub(super) fn time(_text: &str) -> Option<NaiveTime> {
    None
}
