//! "Did you mean …?" suggestions for misspelt names (functions, fields, actions, steps, variables).

/// The candidate closest to `name` by edit distance, when it is close enough to be a likely typo.
pub fn closest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = match name.chars().count() {
        0..=2 => 1,
        3..=5 => 2,
        _ => 3,
    };
    let lowered = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (edit_distance(&lowered, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= limit)
        // Ties go to the alphabetically first name, so the suggestion never depends on iteration order.
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Damerau–Levenshtein distance (optimal string alignment, `strsim`'s), over characters.
pub fn edit_distance(left: &str, right: &str) -> usize {
    // Names are short; very long inputs are not names and are never close.
    if left.chars().count() > 200 || right.chars().count() > 200 {
        return usize::MAX;
    }
    strsim::osa_distance(left, right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["length", "lower", "upper"];
        assert_eq!(closest("lenght", names), Some("length"));
        assert_eq!(closest("uper", names), Some("upper"));
        assert_eq!(closest("banana", names), None);
        assert_eq!(edit_distance("sya", "say"), 1);
    }
}
