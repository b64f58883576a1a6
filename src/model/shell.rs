//! Quoting for the POSIX shell commands clusterdeck builds.

/// Quotes a word for `sh` so file names with spaces or quotes stay one word.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting_keeps_odd_names_one_word() {
        assert_eq!(shell_quote("install.sh"), "install.sh");
        assert_eq!(shell_quote("my installer"), "'my installer'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
