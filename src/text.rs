//! Text from nodes and specs made safe to print on a terminal.
//!
//! A node's output (or an error message quoting it) can hold escape
//! sequences that retitle, clear or reprogram the user's terminal. Headless
//! text output shows such characters as visible escapes instead; the
//! dashboard is safe already (ratatui drops control characters when it
//! draws), and JSON output escapes them.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character shown as a visible escape: C0
/// controls in caret notation (`ESC` is `^[`, `BEL` is `^G`), DEL as `^?`,
/// C1 controls and bidirectional overrides as `\u{..}`. Tabs are kept.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            _ if !needs_escape(c) => shown.push(c),
            '\u{0}'..='\u{1f}' => {
                shown.push('^');
                shown.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => shown.push_str("^?"),
            _ => {
                let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(shown)
}

/// Like [`printable`], but keeps line breaks: for multi-line messages such
/// as a list of spec errors, where each line is escaped on its own.
pub fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi_control(c)
}

/// Characters that reorder how the rest of a line displays (the "Trojan
/// Source" ones).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "ok\tdone: é ✓";
        assert!(matches!(printable(text), Cow::Borrowed(shown) if shown == text));
    }

    #[test]
    fn terminal_escapes_become_visible() {
        assert_eq!(
            printable("\u{1b}]2;TITLE\u{7}\u{1b}[2J"),
            "^[]2;TITLE^G^[[2J"
        );
        assert_eq!(printable("a\rb\nc\u{7f}"), "a^Mb^Jc^?");
        assert_eq!(printable_lines("a\u{1b}\nb\rc"), "a^[\nb^Mc");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_spelled_out() {
        assert_eq!(printable("x\u{9b}2J"), "x\\u{9b}2J");
        assert_eq!(printable("abc\u{202e}def"), "abc\\u{202e}def");
    }
}
