//! "Did you mean …?": the closest of a set of names to a misspelt one.

/// The candidate closest to `word`, if one is close enough to be a likely misspelling.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = match word.chars().count() {
        0..=2 => 1,
        3..=5 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= limit && *d < c.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_a_close_name() {
        assert_eq!(closest("unles", ["when", "unless"]), Some("unless"));
        assert_eq!(
            closest("chinese_uass", ["chinese_uas", "cutoff"]),
            Some("chinese_uas")
        );
    }

    #[test]
    fn refuses_a_distant_name() {
        assert_eq!(closest("amount", ["vendor", "date"]), None);
    }
}
