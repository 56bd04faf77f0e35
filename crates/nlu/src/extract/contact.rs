//! stub
pub(super) fn email(_text: &str) -> Option<String> {
    None
}
pub(super) fn phone(_text: &str) -> Option<String> {
    None
}
