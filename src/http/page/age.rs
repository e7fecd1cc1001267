//! Ages as a person says them, for the page.

use std::time::Duration;

/// A short age: `12 s`, `4 min`, `2 h 5 min`, `3 d 1 h`.
pub(crate) fn human_age(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 if s % 3600 < 60 => format!("{} h", s / 3600),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ if s % 86400 < 3600 => format!("{} d", s / 86400),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_a_person_says_them() {
        assert_eq!(human_age(Duration::from_secs(12)), "12 s");
        assert_eq!(human_age(Duration::from_secs(240)), "4 min");
        assert_eq!(human_age(Duration::from_secs(7500)), "2 h 5 min");
        assert_eq!(human_age(Duration::from_secs(3 * 86400 + 3700)), "3 d 1 h");
        assert_eq!(human_age(Duration::from_secs(3600)), "1 h");
        assert_eq!(human_age(Duration::from_secs(86400 + 59)), "1 d");
    }
}
