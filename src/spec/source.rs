//! Reading a spec file's text with limits, so a device, a FIFO or a huge file
//! named as the spec fails at once with a clear message instead of hanging or
//! eating memory, and bytes a YAML parser would misread are refused.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::error::{SpecError, SpecErrors, SpecLocation};

/// The largest spec file read. Real specs are a few kilobytes; parsing takes
/// memory many times the file size, so the bound keeps that small too.
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// Reads a spec file: only a regular file, at most [`MAX_SPEC_BYTES`], UTF-8.
pub fn read_spec_text(path: &Path) -> Result<String, SpecErrors> {
    let fail = |message: String| SpecErrors::single(SpecError::file(path, message));
    let meta =
        std::fs::metadata(path).map_err(|err| fail(format!("cannot read the spec file: {err}")))?;
    if !meta.is_file() {
        return Err(fail(not_regular(&meta.file_type())));
    }
    // O_NONBLOCK: should the path be swapped for a FIFO after the check above,
    // opening it still returns at once; it has no effect on a regular file.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|err| fail(format!("cannot read the spec file: {err}")))?;
    let meta = file
        .metadata()
        .map_err(|err| fail(format!("cannot read the spec file: {err}")))?;
    if !meta.is_file() {
        return Err(fail(not_regular(&meta.file_type())));
    }
    let bytes =
        read_limited(file).map_err(|err| fail(format!("cannot read the spec file: {err}")))?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(fail(format!(
            "the spec file is larger than {} KiB; a spec is limited to that size",
            MAX_SPEC_BYTES / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let prefix = String::from_utf8_lossy(valid);
        SpecErrors::single(SpecError::at(
            position(path, &prefix),
            "",
            "the spec file is not valid UTF-8 text here",
        ))
    })
}

/// Reads one byte more than the limit, so an oversized file is noticed
/// without reading it all.
fn read_limited(file: File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(MAX_SPEC_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn not_regular(kind: &std::fs::FileType) -> String {
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    format!("the spec must be a regular file; this is {what}")
}

/// Removes a leading byte-order mark (some editors write one) and refuses NUL
/// bytes, which the YAML scanner would take as the end of the text.
pub fn clean_text<'t>(text: &'t str, origin: &Path) -> Result<&'t str, SpecErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match text.find('\0') {
        None => Ok(text),
        Some(at) => Err(SpecErrors::single(SpecError::at(
            position(origin, &text[..at]),
            "",
            "the spec contains a NUL byte here; a spec must be plain text",
        ))),
    }
}

/// The 1-based line and column just after `before`, counting characters.
fn position(origin: &Path, before: &str) -> SpecLocation {
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    SpecLocation {
        file: origin.to_path_buf(),
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(result: Result<String, SpecErrors>) -> String {
        match result {
            Ok(text) => panic!("read {} bytes", text.len()),
            Err(errors) => errors.to_string(),
        }
    }

    #[test]
    fn only_regular_files_of_limited_size_are_read() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(error(read_spec_text(dir.path())).ends_with("this is a directory"));
        assert!(error(read_spec_text(Path::new("/dev/zero"))).ends_with("this is a device"));
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        assert!(error(read_spec_text(&fifo)).ends_with("this is a FIFO (named pipe)"));

        let big = dir.path().join("big.yaml");
        let limit = usize::try_from(MAX_SPEC_BYTES).expect("fits");
        std::fs::write(&big, "#".repeat(limit + 1)).expect("write");
        assert!(error(read_spec_text(&big)).contains("larger than 1024 KiB"));
        std::fs::write(&big, "#".repeat(limit)).expect("write");
        assert_eq!(read_spec_text(&big).expect("at the limit").len(), limit);
    }

    #[test]
    fn invalid_utf8_is_reported_where_it_is() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("latin1.yaml");
        std::fs::write(&file, b"name: demo\nowner: J\xfcrgen\n").expect("write");
        let found = error(read_spec_text(&file));
        assert!(
            found.ends_with("latin1.yaml:2:9: the spec file is not valid UTF-8 text here"),
            "{found}"
        );
    }

    #[test]
    fn a_bom_is_dropped_and_a_nul_is_refused_with_its_position() {
        let origin = Path::new("c.yaml");
        assert_eq!(
            clean_text("\u{feff}name: x\n", origin).expect("ok"),
            "name: x\n"
        );
        let found = clean_text("name: x\nnode_groups: é\0[]\n", origin)
            .expect_err("nul")
            .to_string();
        assert_eq!(
            found,
            "c.yaml:2:15: the spec contains a NUL byte here; a spec must be plain text"
        );
    }
}
