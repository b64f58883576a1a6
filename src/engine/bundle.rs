//! The diagnostic bundle file of `export`: a tar.gz written to a temporary
//! file beside its destination (owner-only), renamed into place only when
//! whole, so a failed or cancelled export leaves no half bundle behind.
//! Every entry sits under one top directory, and a path that came from a
//! node is made relative and stripped of `..` first ([`node_entry`]).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::Compression;
use flate2::write::GzEncoder;

pub struct Bundle {
    dest: PathBuf,
    temp: PathBuf,
    top: String,
    mtime: u64,
    builder: Option<tar::Builder<GzEncoder<File>>>,
    /// Set once the temporary file is renamed into place.
    placed: bool,
}

impl Bundle {
    /// Starts a bundle whose entries all live under `top/`.
    pub fn create(dest: &Path, top: &str) -> std::io::Result<Self> {
        let parent = match dest.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} names no file", dest.display()),
                )
            })?;
        let temp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        let mut builder = tar::Builder::new(GzEncoder::new(file, Compression::default()));
        builder.mode(tar::HeaderMode::Deterministic);
        Ok(Self {
            dest: dest.to_path_buf(),
            temp,
            top: top.to_owned(),
            mtime: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
            builder: Some(builder),
            placed: false,
        })
    }

    /// Adds one file at `top/relative`; `relative` must already be safe
    /// (made by this module or a fixed name).
    pub fn add(&mut self, relative: &str, data: &[u8]) -> std::io::Result<()> {
        let Some(builder) = &mut self.builder else {
            return Err(std::io::Error::other("the bundle is already finished"));
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, format!("{}/{relative}", self.top), data)
    }

    /// Ends the archive, makes it durable and moves it into place; returns
    /// its size.
    pub fn finish(mut self) -> std::io::Result<u64> {
        let Some(builder) = self.builder.take() else {
            return Err(std::io::Error::other("the bundle is already finished"));
        };
        let mut file = builder.into_inner()?.finish()?;
        file.flush()?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        std::fs::rename(&self.temp, &self.dest)?;
        self.placed = true;
        Ok(bytes)
    }
}

impl Drop for Bundle {
    /// A bundle not put in place leaves no temporary file behind.
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Where a file from a node goes in the bundle: `nodes/<node>/<path>` for a
/// path relative to the node's directory, `nodes/<node>/_root/<path>` for
/// an absolute one; `.` and `..` parts are dropped, so nothing leaves the
/// node's directory in the bundle.
pub fn node_entry(node: &str, source: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    if source.starts_with('/') {
        parts.push("_root".to_owned());
    }
    parts.extend(
        Path::new(source)
            .components()
            .filter_map(|part| match part {
                Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
                _ => None,
            }),
    );
    let node = node.replace(['/', '\\'], "_");
    let node = if node.is_empty() || node == "." || node == ".." {
        "_".to_owned()
    } else {
        node
    };
    if parts.is_empty() {
        parts.push("_".to_owned());
    }
    format!("nodes/{node}/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn node_paths_stay_inside_their_node_directory() {
        assert_eq!(
            node_entry("web-1", "install/a.log"),
            "nodes/web-1/install/a.log"
        );
        assert_eq!(node_entry("web-1", "./logs/../x"), "nodes/web-1/logs/x");
        assert_eq!(
            node_entry("web-1", "/var/log/syslog"),
            "nodes/web-1/_root/var/log/syslog"
        );
        assert_eq!(node_entry("..", "../../etc/passwd"), "nodes/_/etc/passwd");
        assert_eq!(node_entry("a", ".."), "nodes/a/_");
    }

    #[test]
    fn a_bundle_appears_whole_and_private_or_not_at_all() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("b.tar.gz");
        let mut bundle = Bundle::create(&dest, "top").expect("create");
        bundle.add("a.txt", b"hello").expect("add");
        assert!(!dest.exists(), "not before it is finished");
        let bytes = bundle.finish().expect("finish");
        assert_eq!(std::fs::metadata(&dest).expect("meta").len(), bytes);
        let mode = std::fs::metadata(&dest).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
            File::open(&dest).expect("open"),
        ));
        let mut entries = archive.entries().expect("entries");
        let mut entry = entries.next().expect("one").expect("entry");
        assert_eq!(entry.path().expect("path").to_string_lossy(), "top/a.txt");
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("read");
        assert_eq!(text, "hello");
        let abandoned = dir.path().join("c.tar.gz");
        drop(Bundle::create(&abandoned, "top").expect("create"));
        let over_a_directory = dir.path().join("sub");
        std::fs::create_dir(&over_a_directory).expect("dir");
        std::fs::write(over_a_directory.join("x"), "x").expect("file");
        let bundle = Bundle::create(&over_a_directory, "top").expect("create");
        assert!(bundle.finish().is_err(), "a rename over a directory fails");
        std::fs::remove_dir_all(&over_a_directory).expect("rm");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("b.tar.gz")],
            "no temp file left"
        );
    }
}
