//! Rules shared with the rest of the program: a cluster name given on the
//! command line must pass the same test as the spec's `name`, since both end
//! up as a directory name under the state directory.

use std::time::Duration;

/// Whether `text` is a valid name: 1-63 ASCII letters, digits, `-`, `_` or
/// `.`, starting with a letter or digit. Such a name can never be `.`, `..`,
/// contain a `/` or be too long for a file name.
pub fn is_valid_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The shortest timeout accepted anywhere: below it a command's result
/// depends on scheduling luck, not on the command.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_their_directory() {
        for good in ["quickstart", "a", "a.b-c_d", "9lives", &"x".repeat(63)] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a/../a",
            "-a",
            ".hidden",
            "a b",
            "é",
            &"x".repeat(64),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
