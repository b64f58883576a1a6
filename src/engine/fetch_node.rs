//! Installers fetched by each node itself, for backends whose nodes reach the
//! URL better than clusterdeck does (`url_fetch: node`). The node downloads
//! with curl (or wget), checks the digest with sha256sum, and only then puts
//! the file where the installer is run from, so a bad download never runs.

use super::Engine;
use super::exec::run_captured;
use super::installer::{FETCH_STEP, FetchLimits, INSTALL_DIR, NodeFetch, StepError, step_status};
use crate::model::StepStatus;
use crate::spec::redact_userinfo;
use crate::transport::{ExecRequest, ExecStatus, Transport};

/// POSIX sh, run from the node's root. Everything it needs comes in through
/// the environment, so the URL (which may carry credentials) is never part of
/// the command text that logs and events may show.
const SCRIPT: &str = r#"name=$CLUSTERDECK_INSTALLER_NAME
shown=$CLUSTERDECK_INSTALLER_URL_SHOWN
expected=${CLUSTERDECK_INSTALLER_SHA256:-}
mkdir -p "$CLUSTERDECK_INSTALL_DIR" || exit 1
part="$CLUSTERDECK_INSTALL_DIR/.$name.part"
rm -f "$part"
if command -v curl >/dev/null 2>&1; then
  detail=$(curl -fsSL --connect-timeout "$CLUSTERDECK_CONNECT_TIMEOUT" --speed-limit 1 --speed-time "$CLUSTERDECK_READ_TIMEOUT" --max-filesize "$CLUSTERDECK_MAX_BYTES" -o "$part" "$CLUSTERDECK_INSTALLER_URL" 2>&1)
  status=$?
elif command -v wget >/dev/null 2>&1; then
  detail=$(wget -q -T "$CLUSTERDECK_READ_TIMEOUT" -O "$part" "$CLUSTERDECK_INSTALLER_URL" 2>&1)
  status=$?
else
  echo "cannot download $shown on this node: neither curl nor wget is installed" >&2
  exit 127
fi
if [ "$status" -ne 0 ]; then
  rm -f "$part"
  echo "cannot download $shown on this node: ${detail:-exit status $status}" >&2
  exit 1
fi
actual=$(sha256sum "$part" 2>/dev/null | cut -d ' ' -f 1)
if [ -z "$actual" ]; then
  rm -f "$part"
  echo "cannot check the download of $shown on this node: sha256sum is missing or failed" >&2
  exit 1
fi
if [ -n "$expected" ] && [ "$actual" != "$expected" ]; then
  rm -f "$part"
  echo "the installer downloaded from $shown has sha256 $actual, but the spec expects $expected; it was removed and the installer was not run" >&2
  exit 1
fi
chmod 755 "$part" && mv -f "$part" "$CLUSTERDECK_INSTALL_DIR/$name" || exit 1
echo "clusterdeck:progress 100 downloaded, sha256 $actual"
"#;

impl NodeFetch {
    fn request(&self, installer_name: &str) -> ExecRequest {
        let limits = FetchLimits::default();
        let mut env = vec![
            ("CLUSTERDECK_INSTALLER_URL".to_owned(), self.url.clone()),
            (
                "CLUSTERDECK_INSTALLER_URL_SHOWN".to_owned(),
                redact_userinfo(&self.url),
            ),
            (
                "CLUSTERDECK_INSTALLER_NAME".to_owned(),
                installer_name.to_owned(),
            ),
            ("CLUSTERDECK_INSTALL_DIR".to_owned(), INSTALL_DIR.to_owned()),
            (
                "CLUSTERDECK_CONNECT_TIMEOUT".to_owned(),
                limits.connect_timeout.as_secs().to_string(),
            ),
            (
                "CLUSTERDECK_READ_TIMEOUT".to_owned(),
                limits.read_timeout.as_secs().to_string(),
            ),
            (
                "CLUSTERDECK_MAX_BYTES".to_owned(),
                limits.max_bytes.to_string(),
            ),
        ];
        if let Some(sha256) = &self.sha256 {
            env.push(("CLUSTERDECK_INSTALLER_SHA256".to_owned(), sha256.clone()));
        }
        ExecRequest {
            command: SCRIPT.to_owned(),
            env,
            workdir: None,
            timeout: None,
        }
    }
}

impl Engine {
    /// Has one node download and check the installer, as its `fetch` step.
    pub(super) async fn fetch_on_node(
        &self,
        transport: &dyn Transport,
        node: &str,
        fetch: &NodeFetch,
        installer_name: &str,
    ) -> Result<(), String> {
        let request = fetch.request(installer_name);
        let run = async {
            let captured = run_captured(
                transport,
                node,
                Some(FETCH_STEP),
                &request,
                &self.events,
                &self.cancel,
            )
            .await;
            match captured.status {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(failure(status, &captured.output)),
                Err(error) => Err((StepStatus::Failed, error)),
            }
        };
        self.step(node, FETCH_STEP, run).await
    }
}

/// The node's own words about what went wrong: the script's last line.
fn failure(status: ExecStatus, output: &str) -> StepError {
    let last = output.lines().last().unwrap_or_default();
    let detail = if last.is_empty() {
        status.describe()
    } else {
        last.to_owned()
    };
    (step_status(status), detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PATH holding only the tools the script may use, wget but no curl.
    fn path_without_curl(dir: &std::path::Path) -> String {
        for tool in ["wget", "sha256sum", "cut", "mkdir", "rm", "chmod", "mv"] {
            let found = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .expect("sh");
            let target = String::from_utf8_lossy(&found.stdout).trim().to_owned();
            assert!(!target.is_empty(), "{tool} is needed for this test");
            std::os::unix::fs::symlink(target, dir.join(tool)).expect("symlink");
        }
        dir.display().to_string()
    }

    #[test]
    fn without_curl_the_node_downloads_with_wget_and_checks_the_digest() {
        let body = b"#!/bin/sh\necho hi\n".to_vec();
        let url = super::super::fetch::tests::serve_once(body.clone());
        let root = tempfile::tempdir().expect("node root");
        let bin = tempfile::tempdir().expect("bin");
        let fetch = NodeFetch {
            url: url.clone(),
            sha256: None,
        };
        let request = fetch.request("setup.sh");
        let output = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&request.command)
            .current_dir(root.path())
            .env_clear()
            .env("PATH", path_without_curl(bin.path()))
            .envs(request.env.iter().map(|(key, value)| (key, value)))
            .output()
            .expect("run the fetch script");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let fetched = root.path().join(INSTALL_DIR).join("setup.sh");
        assert_eq!(std::fs::read(&fetched).expect("fetched"), body);
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(&body)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            stdout.trim(),
            format!("clusterdeck:progress 100 downloaded, sha256 {digest}")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fetched)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "the installer is executable");
    }
}
