//! stub
pub(super) fn yes_no(_text: &str) -> Option<bool> {
    None
}
