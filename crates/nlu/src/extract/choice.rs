//! stub
use super::OptionRef;
pub(super) fn option(_text: &str, _options: &[OptionRef<'_>]) -> Option<usize> {
    None
}
