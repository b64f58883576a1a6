//! A command's stdout and stderr kept apart, each capped, with its last
//! non-blank line: what a caller answering for a command (a plugin's
//! `host.run`, a distribution's phase) needs back, when the full stream goes
//! elsewhere (events) or nowhere.

use std::sync::Mutex;

use super::OnLine;
use crate::model::Stream;

/// Bytes kept per stream by default: a chatty command cannot make an answer
/// too large to send.
pub const STREAM_LIMIT: usize = 256 * 1024;

/// What [`SplitOutput`] kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    pub stdout: String,
    pub stderr: String,
    /// The last non-blank line on either stream, even one past the cap.
    pub last_line: String,
}

/// Collects a command's lines per stream, each up to `limit` bytes.
#[derive(Debug)]
pub struct SplitOutput {
    limit: usize,
    kept: Mutex<Kept>,
}

impl Default for SplitOutput {
    fn default() -> Self {
        Self::new(STREAM_LIMIT)
    }
}

impl SplitOutput {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            kept: Mutex::default(),
        }
    }

    pub fn finish(self) -> Kept {
        self.kept
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl OnLine for SplitOutput {
    fn line(&self, stream: Stream, line: &str) {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let text = match stream {
            Stream::Stdout => &mut kept.stdout,
            Stream::Stderr => &mut kept.stderr,
        };
        if text.len() + line.len() < self.limit {
            text.push_str(line);
            text.push('\n');
        }
        if !line.trim().is_empty() {
            line.clone_into(&mut kept.last_line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_kept_apart_capped_and_the_last_line_noted() {
        let output = SplitOutput::new(12);
        output.line(Stream::Stdout, "one");
        output.line(Stream::Stderr, "oops");
        output.line(Stream::Stdout, "two");
        output.line(Stream::Stdout, "three is too long");
        output.line(Stream::Stderr, "  ");
        let kept = output.finish();
        assert_eq!(kept.stdout, "one\ntwo\n");
        assert_eq!(kept.stderr, "oops\n  \n");
        assert_eq!(kept.last_line, "three is too long");
    }
}
