//! One regular file as a ustar archive, the format the engine's archive
//! upload takes. Written by hand: the header is 512 bytes of fixed fields.

use bytes::Bytes;

const BLOCK: usize = 512;

/// The 512-byte header of a regular file at `path` (relative, `/`-separated).
pub fn file_header(path: &str, size: u64, mode: u32, mtime: u64) -> Result<[u8; BLOCK], String> {
    let mut header = [0u8; BLOCK];
    let (prefix, name) = split_path(path)?;
    header[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut header[100..108], u64::from(mode & 0o7777));
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], size);
    octal(&mut header[136..148], mtime);
    header[148..156].copy_from_slice(b"        ");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[265..269].copy_from_slice(b"root");
    header[297..301].copy_from_slice(b"root");
    header[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    let sum: u64 = header.iter().map(|byte| u64::from(*byte)).sum();
    let checksum = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(checksum.as_bytes());
    Ok(header)
}

/// Zeros after a file's data up to the next block, then the two empty
/// blocks that end an archive.
pub fn trailer(size: u64) -> Bytes {
    let block = BLOCK as u64;
    let padding = usize::try_from((block - size % block) % block).unwrap_or(0);
    Bytes::from(vec![0u8; padding + 2 * BLOCK])
}

/// A whole archive of one file held in memory.
pub fn archive(path: &str, data: &[u8], mode: u32, mtime: u64) -> Result<Vec<u8>, String> {
    archive_files(&[(path, data, mode)], mtime)
}

/// An archive of small files held in memory: `(path, data, mode)` each.
pub fn archive_files(files: &[(&str, &[u8], u32)], mtime: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (path, data, mode) in files {
        let size = data.len() as u64;
        out.extend_from_slice(&file_header(path, size, *mode, mtime)?);
        out.extend_from_slice(data);
        let padding = (BLOCK - data.len() % BLOCK) % BLOCK;
        out.resize(out.len() + padding, 0);
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    Ok(out)
}

/// The first entry of an archive the engine's download gave, which must be
/// a regular file: its first `max_bytes` and its whole size. The archive may
/// be cut short (the download stops past the cap); what is there is kept.
pub fn first_file(archive: &[u8], max_bytes: u64) -> Result<(Vec<u8>, u64), String> {
    use std::io::Read;
    let mut archive = ::tar::Archive::new(std::io::Cursor::new(archive));
    let mut entries = archive
        .entries()
        .map_err(|err| format!("unreadable archive: {err}"))?;
    let entry = entries
        .next()
        .ok_or_else(|| "the archive is empty".to_owned())?
        .map_err(|err| format!("unreadable archive: {err}"))?;
    if entry.header().entry_type() != ::tar::EntryType::Regular {
        return Err("not a regular file".to_owned());
    }
    let size = entry.size();
    let mut data = Vec::new();
    // A read error here is the cut end of the download: keep what came.
    let _ = entry.take(max_bytes).read_to_end(&mut data);
    Ok((data, size))
}

/// ustar keeps 100 bytes of name and 155 of prefix, split at a `/`.
fn split_path(path: &str) -> Result<(&str, &str), String> {
    if path.len() <= 100 {
        return Ok(("", path));
    }
    let too_long = || format!("path {path:?} is too long for a tar archive");
    let cut = path
        .char_indices()
        .filter(|(at, c)| *c == '/' && *at <= 155 && path.len() - at - 1 <= 100)
        .map(|(at, _)| at)
        .next()
        .ok_or_else(too_long)?;
    let (prefix, rest) = path.split_at(cut);
    let name = &rest[1..];
    if name.is_empty() {
        return Err(too_long());
    }
    Ok((prefix, name))
}

/// A zero-padded octal number filling a field but its last byte (NUL).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let text = &text.as_bytes()[text.len().saturating_sub(width)..];
    field[..width].copy_from_slice(text);
    field[width] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_has_the_ustar_fields_and_a_valid_checksum() {
        let header = file_header("clusterdeck/a/b.sh", 5, 0o755, 0).expect("fits");
        assert_eq!(&header[..18], b"clusterdeck/a/b.sh");
        assert_eq!(&header[100..108], b"0000755\0");
        assert_eq!(&header[124..136], b"00000000005\0");
        assert_eq!(header[156], b'0');
        assert_eq!(&header[257..263], b"ustar\0");
        let mut copy = header;
        copy[148..156].copy_from_slice(b"        ");
        let sum: u64 = copy.iter().map(|byte| u64::from(*byte)).sum();
        let stored = std::str::from_utf8(&header[148..154]).expect("ascii");
        assert_eq!(u64::from_str_radix(stored, 8).expect("octal"), sum);
    }

    #[test]
    fn the_first_file_is_read_capped_even_from_a_cut_archive() {
        let whole = archive("logs/a.log", b"0123456789", 0o644, 0).expect("fits");
        assert_eq!(
            first_file(&whole, 100).expect("reads"),
            (b"0123456789".to_vec(), 10)
        );
        assert_eq!(first_file(&whole, 3).expect("reads"), (b"012".to_vec(), 10));
        assert_eq!(first_file(&whole[..516], 100).expect("reads").0, b"0123");
        assert!(first_file(&[], 10).is_err());
    }

    #[test]
    fn archives_are_whole_blocks_and_long_paths_use_the_prefix() {
        let whole = archive("x", b"hello", 0o644, 0).expect("fits");
        assert_eq!(whole.len(), 512 * 4);
        assert_eq!(&whole[512..517], b"hello");
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let header = file_header(&long, 0, 0o600, 0).expect("split at the slash");
        assert_eq!(&header[..90], "f".repeat(90).as_bytes());
        assert_eq!(&header[345..465], "d".repeat(120).as_bytes());
        assert!(file_header(&"z".repeat(300), 0, 0o600, 0).is_err());
        let two = archive_files(&[("a", b"1", 0o600), ("b", &[7u8; 513], 0o644)], 0).expect("fits");
        assert_eq!(
            two.len(),
            512 * (2 + 3 + 2),
            "a header each, data in whole blocks, two empty"
        );
        assert_eq!(&two[1024..1024 + 1], b"b");
    }
}
