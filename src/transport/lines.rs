//! Splits a command's byte stream into lines, capping each line while it is
//! read: a node printing one 100 MB line costs [`LINE_LIMIT`] bytes, not
//! 100 MB, and the line says how much of it was cut.

/// Bytes of one line that are kept; the rest is counted and cut.
pub const LINE_LIMIT: usize = 4 * 1024;

/// Bytes read from a pipe at once.
pub(crate) const READ_CHUNK: usize = 8 * 1024;

/// The partial line read so far: at most [`LINE_LIMIT`] bytes of it.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    kept: Vec<u8>,
    /// Bytes of the current line past the limit.
    cut: usize,
}

impl LineSplitter {
    /// Feeds a chunk; every line it completes goes to `emit`.
    pub fn push(&mut self, mut data: &[u8], emit: &mut dyn FnMut(&str)) {
        while let Some(end) = data.iter().position(|byte| *byte == b'\n') {
            self.keep(&data[..end]);
            self.emit_line(emit);
            data = &data[end + 1..];
        }
        self.keep(data);
    }

    /// Emits the last line if the stream did not end with a newline.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        if !self.kept.is_empty() || self.cut > 0 {
            self.emit_line(emit);
        }
    }

    fn keep(&mut self, part: &[u8]) {
        let room = LINE_LIMIT.saturating_sub(self.kept.len());
        let taken = room.min(part.len());
        self.kept.extend_from_slice(&part[..taken]);
        self.cut += part.len() - taken;
    }

    fn emit_line(&mut self, emit: &mut dyn FnMut(&str)) {
        emit(&capped_text(&self.kept, self.cut));
        self.kept.clear();
        self.cut = 0;
    }
}

/// The kept bytes as text, ending with a visible note of what was cut.
fn capped_text(kept: &[u8], cut: usize) -> String {
    let mut kept = kept;
    let mut cut = cut;
    if cut > 0
        && let Err(err) = std::str::from_utf8(kept)
        && err.error_len().is_none()
    {
        // The limit fell inside a character: cut the whole character.
        cut += kept.len() - err.valid_up_to();
        kept = &kept[..err.valid_up_to()];
    }
    let text = String::from_utf8_lossy(kept);
    let text = text.trim_end_matches('\r');
    if cut == 0 {
        text.to_owned()
    } else {
        format!("{text} …[{cut} more bytes cut]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut |line| lines.push(line.to_owned()));
        }
        splitter.finish(&mut |line| lines.push(line.to_owned()));
        lines
    }

    #[test]
    fn lines_are_split_across_chunks() {
        assert_eq!(split(&[b"a\nb", b"c\r\nd"]), vec!["a", "bc", "d"]);
        assert_eq!(split(&[b"a\n\n"]), vec!["a", ""]);
    }

    #[test]
    fn a_huge_line_is_capped_while_it_is_read() {
        let mut splitter = LineSplitter::default();
        let chunk = vec![b'a'; READ_CHUNK];
        let mut lines = Vec::new();
        for _ in 0..1000 {
            splitter.push(&chunk, &mut |line| lines.push(line.to_owned()));
            assert!(splitter.kept.len() <= LINE_LIMIT, "never buffers more");
        }
        splitter.push(b"\nnext\n", &mut |line| lines.push(line.to_owned()));
        let cut = 1000 * READ_CHUNK - LINE_LIMIT;
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            format!("{} …[{cut} more bytes cut]", "a".repeat(LINE_LIMIT))
        );
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn the_cap_never_splits_a_character() {
        let mut line = vec![b'a'; LINE_LIMIT - 1];
        line.extend_from_slice("é and more".as_bytes());
        let lines = split(&[&line]);
        let expected_cut = "é and more".len();
        assert_eq!(
            lines,
            vec![format!(
                "{} …[{expected_cut} more bytes cut]",
                "a".repeat(LINE_LIMIT - 1)
            )]
        );
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_whole() {
        let line = vec![b'b'; LINE_LIMIT];
        assert_eq!(split(&[&line, b"\n"]), vec!["b".repeat(LINE_LIMIT)]);
    }
}
