//! Which files a list of paths and globs names on a node, expanded by the
//! node's own shell through [`Transport::exec`], so every transport lists the
//! same way. A directory stands for every regular file below it.

use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ExecRequest, ExecStatus, Transport, TransportError};
use crate::model::{Stream, shell_quote};

/// How much of one file is read unless told otherwise.
pub const DEFAULT_FILE_CAP: u64 = 16 * 1024 * 1024;
/// Files listed per node at most; a directory of millions stays a short list.
pub const MAX_LISTED_FILES: usize = 1000;
/// How long the listing may take on one node.
const LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// What one pattern gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// A regular file, as the node's shell names it (relative to the node's
    /// directory unless the pattern was absolute).
    File(String),
    /// A pattern that named no regular file.
    Missing(String),
    /// Files past [`MAX_LISTED_FILES`] were left out.
    TooMany,
}

/// True for a pattern that can go into a shell command line unquoted (see
/// [`crate::spec::is_valid_log_path`]).
pub fn is_safe_pattern(pattern: &str) -> bool {
    crate::spec::is_valid_log_path(pattern)
}

/// Expands `patterns` on the node, in order, without repeats. A pattern that
/// is not safe to hand to a shell is reported missing rather than run.
pub async fn list_files(
    transport: &dyn Transport,
    patterns: &[String],
    cancel: &CancellationToken,
) -> Result<Vec<Listed>, TransportError> {
    let mut script = String::from("set +f");
    for pattern in patterns.iter().filter(|pattern| is_safe_pattern(pattern)) {
        // Unquoted so the node's shell expands it; checked safe above.
        script.push_str(&format!(
            "; n=0; for f in {pattern}; do if [ -d \"$f\" ]; then n=1; find \"$f\" -type f | while IFS= read -r g; do printf 'F %s\\n' \"$g\"; done; elif [ -f \"$f\" ]; then n=1; printf 'F %s\\n' \"$f\"; fi; done; [ $n = 1 ] || printf 'M %s\\n' {quoted}",
            quoted = shell_quote(pattern)
        ));
    }
    script.push_str("; exit 0");
    let found: Mutex<Vec<Listed>> = Mutex::new(
        patterns
            .iter()
            .filter(|pattern| !is_safe_pattern(pattern))
            .map(|pattern| Listed::Missing(pattern.clone()))
            .collect(),
    );
    let on_line = |stream: Stream, line: &str| {
        if stream != Stream::Stdout {
            return;
        }
        let mut found = found.lock().unwrap_or_else(|poison| poison.into_inner());
        let item = match line.split_once(' ') {
            Some(("F", path)) => Listed::File(path.to_owned()),
            Some(("M", pattern)) => Listed::Missing(pattern.to_owned()),
            _ => return,
        };
        let files = found
            .iter()
            .filter(|listed| matches!(listed, Listed::File(_)))
            .count();
        if matches!(item, Listed::File(_)) && files >= MAX_LISTED_FILES {
            if !found.contains(&Listed::TooMany) {
                found.push(Listed::TooMany);
            }
        } else if !found.contains(&item) {
            found.push(item);
        }
    };
    let request = ExecRequest {
        command: script,
        timeout: Some(LIST_TIMEOUT),
        ..ExecRequest::default()
    };
    let status = transport.exec(&request, &on_line, cancel).await?;
    if status != ExecStatus::Exited(0) {
        return Err(TransportError::Io {
            context: "cannot list the files to fetch".to_owned(),
            source: std::io::Error::other(status.describe()),
        });
    }
    Ok(found
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    #[tokio::test]
    async fn globs_directories_and_missing_paths_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("logs/old")).expect("dirs");
        std::fs::write(root.join("logs/a.log"), "a").expect("write");
        std::fs::write(root.join("logs/b.log"), "b").expect("write");
        std::fs::write(root.join("logs/old/c.txt"), "c").expect("write");
        let local = LocalTransport::new(root.to_path_buf(), Vec::new());
        let patterns: Vec<String> = ["logs/*.log", "logs/old", "nope/*.log", "gone.txt", "a b"]
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        let listed = list_files(&local, &patterns, &CancellationToken::new())
            .await
            .expect("lists");
        assert_eq!(
            listed,
            vec![
                Listed::Missing("a b".into()),
                Listed::File("logs/a.log".into()),
                Listed::File("logs/b.log".into()),
                Listed::File("logs/old/c.txt".into()),
                Listed::Missing("nope/*.log".into()),
                Listed::Missing("gone.txt".into()),
            ]
        );
    }
}
