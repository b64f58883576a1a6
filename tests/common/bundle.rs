//! Reading an `export` bundle back: every entry's path and bytes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Every regular file of a tar.gz, by path.
pub fn entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = std::fs::File::open(path).expect("open bundle");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read entry");
        out.insert(name, data);
    }
    out
}

/// The whole bundle decompressed, headers and all: what a grep for a
/// secret must search.
pub fn raw(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).expect("open bundle");
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut data)
        .expect("gunzip");
    data
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// An entry as JSON.
pub fn json(entries: &BTreeMap<String, Vec<u8>>, name: &str) -> serde_json::Value {
    let bytes = entries
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing; bundle has {:?}", entries.keys()));
    serde_json::from_slice(bytes).unwrap_or_else(|err| panic!("{name}: {err}"))
}
