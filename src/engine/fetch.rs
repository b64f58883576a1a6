//! Installers named by URL, fetched on this machine once per operation.
//!
//! A download streams into a private temp file beside the cache, is hashed on
//! the way, and only becomes `<state-root>/cache/installers/<sha256>` once it
//! is whole (and matches the spec's `sha256` when one is given), so a crash,
//! a Ctrl-C or a bad download never leaves a file that looks like a good one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::Engine;
use super::event::EventKind;
use super::installer::{
    CONFIG_FILE, FETCH_STEP, FetchLimits, Installer, InstallerFile, MaterialError, NodeFetch,
    installer_name,
};
use super::sink::EventSink;
use crate::backend::Backend;
use crate::model::{StepStatus, UrlFetch};
use crate::spec::{InstallSpec, redact_userinfo};
use crate::state::ensure_private_dir;

impl Engine {
    /// The installer a URL names: on this machine, fetched once for the
    /// whole operation and uploaded like a path installer; or, for a backend
    /// that wants it so, left for each node to fetch.
    pub(super) async fn fetched_installer(
        &self,
        url: &str,
        install: &InstallSpec,
        backend: &dyn Backend,
    ) -> Result<Installer, MaterialError> {
        let name = installer_name(url, CONFIG_FILE);
        if backend.capabilities().url_fetch == UrlFetch::Node {
            if install.sha256.is_none() {
                self.events.warn(
                    None,
                    format!(
                        "the installer from {} is not verified: the spec gives no sha256. Each node prints the sha256 it downloaded; add `sha256: <digest>` under `install:` to pin it",
                        redact_userinfo(url)
                    ),
                );
            }
            let fetch = NodeFetch {
                url: url.to_owned(),
                sha256: install.sha256.clone(),
            };
            return Ok((InstallerFile::OnNode(fetch), name));
        }
        let cache = cache_dir(self.store.root());
        let request = FetchRequest {
            url,
            expected: install.sha256.as_deref(),
            cache_dir: &cache,
            limits: FetchLimits::default(),
        };
        let fetch = async {
            fetch_installer(&request, &self.events, &self.cancel)
                .await
                .map_err(|error| {
                    let status = if self.cancel.is_cancelled() {
                        StepStatus::Cancelled
                    } else {
                        StepStatus::Failed
                    };
                    (status, error)
                })
        };
        let path = self
            .step("", FETCH_STEP, fetch)
            .await
            .map_err(|error| (FETCH_STEP, error))?;
        Ok((InstallerFile::Here(path), name))
    }
}

/// The cache of downloaded installers, under the state root.
pub(super) fn cache_dir(state_root: &Path) -> PathBuf {
    state_root.join("cache").join("installers")
}

/// One installer to fetch.
pub(super) struct FetchRequest<'a> {
    pub url: &'a str,
    /// Lowercase hex SHA-256 the download must have, if the spec pins one.
    pub expected: Option<&'a str>,
    pub cache_dir: &'a Path,
    pub limits: FetchLimits,
}

/// Fetches the installer, or reuses a cached copy whose digest matches the
/// pinned one; returns the verified (or knowingly unverified) file, named by
/// its digest. Errors name the URL without its credentials.
pub(super) async fn fetch_installer(
    request: &FetchRequest<'_>,
    events: &EventSink,
    cancel: &CancellationToken,
) -> Result<PathBuf, String> {
    let shown = redact_userinfo(request.url);
    let progress = |message: String| {
        events.emit(EventKind::StepProgress {
            node: String::new(),
            step: FETCH_STEP.to_owned(),
            percent: None,
            message: Some(message),
        })
    };
    ensure_private_dir(request.cache_dir).map_err(|err| {
        format!(
            "cannot create the download cache {}: {err}",
            request.cache_dir.display()
        )
    })?;
    if let Some(expected) = request.expected {
        let cached = request.cache_dir.join(expected);
        if cached.is_file() {
            match digest_file(&cached).await {
                Ok(actual) if actual == expected => {
                    progress(format!(
                        "using the cached download of {shown} (sha256 {expected}); nothing downloaded"
                    ));
                    return Ok(cached);
                }
                // A damaged cache entry is replaced by a fresh download.
                _ => {
                    let _ = std::fs::remove_file(&cached);
                }
            }
        }
    }
    progress(format!("downloading {shown}"));
    let (partial, actual, bytes) = tokio::select! {
        _ = cancel.cancelled() => return Err(format!("cancelled while downloading {shown}")),
        result = download(request, &shown) => result?,
    };
    if let Some(expected) = request.expected
        && expected != actual
    {
        // `partial` is dropped here, which removes the file.
        return Err(format!(
            "the installer downloaded from {shown} has sha256 {actual}, but the spec expects {expected}; it was removed and nothing was uploaded"
        ));
    }
    let path = request.cache_dir.join(&actual);
    partial.keep_as(&path).map_err(|err| {
        format!(
            "cannot move the download of {shown} into {}: {err}",
            path.display()
        )
    })?;
    progress(format!("downloaded {bytes} bytes, sha256 {actual}"));
    if request.expected.is_none() {
        events.warn(
            None,
            format!(
                "the installer from {shown} is not verified: the spec gives no sha256. Its sha256 is {actual}; add `sha256: {actual}` under `install:` to pin it"
            ),
        );
    }
    Ok(path)
}

/// Streams the body into a private temp file; returns it with its digest and size.
async fn download(
    request: &FetchRequest<'_>,
    shown: &str,
) -> Result<(PartialFile, String, u64), String> {
    let limits = request.limits;
    let client = http_client(limits)?;
    let mut response = client
        .get(request.url)
        .send()
        .await
        .map_err(|err| describe(err, shown))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "cannot download {shown}: the server answered {status}"
        ));
    }
    let too_big = |size: u64| {
        format!(
            "cannot download {shown}: it is {size} bytes or more, above the limit of {} bytes for an installer",
            limits.max_bytes
        )
    };
    if let Some(length) = response.content_length()
        && length > limits.max_bytes
    {
        return Err(too_big(length));
    }
    let partial = PartialFile::create(request.cache_dir)
        .map_err(|err| format!("cannot store the download of {shown}: {err}"))?;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&partial.path)
        .await
        .map_err(|err| format!("cannot store the download of {shown}: {err}"))?;
    let mut hasher = Sha256::new();
    let mut written: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(|err| describe(err, shown))? {
        written += chunk.len() as u64;
        if written > limits.max_bytes {
            return Err(too_big(written));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|err| format!("cannot store the download of {shown}: {err}"))?;
    }
    file.sync_all()
        .await
        .map_err(|err| format!("cannot store the download of {shown}: {err}"))?;
    Ok((partial, hex(&hasher.finalize()), written))
}

fn http_client(limits: FetchLimits) -> Result<reqwest::Client, String> {
    // reqwest is built without a crypto provider; ring is the one russh
    // already brings. A provider installed earlier wins, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .read_timeout(limits.read_timeout)
        .user_agent(concat!("clusterdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("cannot set up the HTTP client: {}", chain(&err)))
}

/// A transport failure as one line: what failed, for which URL, and why.
fn describe(err: reqwest::Error, shown: &str) -> String {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_redirect() {
        "too many redirects"
    } else {
        "the transfer failed"
    };
    // The error's own URL could be a redirect target with credentials.
    let err = err.without_url();
    format!("cannot download {shown}: {what}: {}", chain(&err))
}

/// An error and its causes, each said once.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        // hyper's "client error (Connect)" only repeats what the causes say.
        let wrapper = text.starts_with("client error (");
        if !wrapper && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.join(": ")
}

/// The SHA-256 of a file, read off the async threads.
async fn digest_file(path: &Path) -> std::io::Result<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)?;
        Ok(hex(&hasher.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A download in progress: removed when dropped unless kept, so every early
/// return (an error, a digest mismatch, a cancelled task) cleans up.
struct PartialFile {
    path: PathBuf,
    kept: bool,
}

impl PartialFile {
    fn create(dir: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = dir.join(format!(
            ".download-{}-{}.part",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        Ok(Self { path, kept: false })
    }

    fn keep_as(mut self, dest: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, dest)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn installer_names_come_from_the_last_segment_made_safe() {
        let name = |url| installer_name(url, "config.json");
        assert_eq!(name("https://example.test/dl/install.sh"), "install.sh");
        assert_eq!(
            name("https://example.test/dl/my%20setup;rm"),
            "my_20setup_rm"
        );
        assert_eq!(name("https://example.test/dl/?v=2"), "installer");
        assert_eq!(name("https://example.test"), "installer");
        assert_eq!(name("https://example.test/.."), "installer");
        assert_eq!(name("https://example.test/config.json"), "installer");
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_a_byte() {
        assert_eq!(hex(&[0, 15, 171, 255]), "000fabff");
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    /// Serves `body` once to whoever connects, with an honest length.
    pub(in crate::engine) fn serve_once(body: Vec<u8>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        format!("http://{address}/big.bin")
    }

    #[tokio::test]
    async fn a_download_above_the_cap_fails_and_leaves_nothing() {
        let cache = tempfile::tempdir().expect("dir");
        let url = serve_once(vec![7; 4096]);
        let (events, _receiver) = EventSink::channel();
        let request = FetchRequest {
            url: &url,
            expected: None,
            cache_dir: cache.path(),
            limits: FetchLimits {
                max_bytes: 1000,
                ..FetchLimits::default()
            },
        };
        let error = fetch_installer(&request, &events, &CancellationToken::new())
            .await
            .expect_err("too big");
        assert_eq!(
            error,
            format!(
                "cannot download {url}: it is 4096 bytes or more, above the limit of 1000 bytes for an installer"
            )
        );
        let left: Vec<_> = std::fs::read_dir(cache.path())
            .expect("cache dir")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn https_to_a_plain_http_server_is_a_tls_error_not_a_panic() {
        let cache = tempfile::tempdir().expect("dir");
        let url = serve_once(b"not tls".to_vec()).replace("http://", "https://");
        let (events, _receiver) = EventSink::channel();
        let request = FetchRequest {
            url: &url,
            expected: None,
            cache_dir: cache.path(),
            limits: FetchLimits::default(),
        };
        let error = fetch_installer(&request, &events, &CancellationToken::new())
            .await
            .expect_err("no TLS there");
        assert!(
            error.starts_with(&format!("cannot download {url}: ")),
            "{error}"
        );
        assert!(!error.contains("client error ("), "{error}");
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_url_without_its_credentials() {
        let cache = tempfile::tempdir().expect("dir");
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            listener.local_addr().expect("address").port()
        };
        let url = format!("http://bob:hunter2@127.0.0.1:{port}/install.sh");
        let (events, _receiver) = EventSink::channel();
        let request = FetchRequest {
            url: &url,
            expected: None,
            cache_dir: cache.path(),
            limits: FetchLimits::default(),
        };
        let error = fetch_installer(&request, &events, &CancellationToken::new())
            .await
            .expect_err("nothing listens");
        assert!(
            error.starts_with(&format!(
                "cannot download http://127.0.0.1:{port}/install.sh: cannot connect: "
            )),
            "{error}"
        );
        assert!(error.contains("refused"), "{error}");
        assert!(
            !error.contains("hunter2") && !error.contains("bob"),
            "{error}"
        );
    }
}
