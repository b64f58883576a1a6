//! Taking secrets out of what clusterdeck writes about a cluster (its event
//! log, an `export` bundle). Events and records never carry a secret on
//! purpose; what a node prints or logs may, so its text is scrubbed too.
//!
//! Known secrets are: every `{env: NAME}` value of `install.config` as it
//! resolves now, backend and group options whose name says they are a
//! credential, and the values of the well-known secret variables of
//! clusterdeck's own environment. Besides them, a password in a URL
//! (`scheme://user:password@host`) is replaced wherever it appears. Values
//! shorter than [`MIN_SECRET_LEN`] are not treated as secrets: replacing
//! every `1` or `yes` would ruin the text and protect nothing.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::spec::{ClusterSpec, env_reference, process_env};

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";
/// Shorter values are left alone (see the module's note).
pub const MIN_SECRET_LEN: usize = 4;
/// Variables of clusterdeck's environment whose values are always secrets.
const SECRET_ENV: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "DOCKER_AUTH_CONFIG",
];
/// Parts of an option name that mark its value as a credential.
const SECRET_WORDS: &[&str] = &["secret", "password", "passwd", "token", "credential"];

/// `scheme://user:password@`: the password part.
static URL_PASSWORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):[^/\s@]+@").ok());

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<Vec<u8>>,
}

impl Redactor {
    /// The secrets of a cluster's spec, resolved now, and of the environment.
    pub fn for_spec(spec: &ClusterSpec) -> Self {
        Self::for_spec_with(spec, &process_env)
    }

    pub fn for_spec_with(spec: &ClusterSpec, lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut secrets = Vec::new();
        if let Some(install) = &spec.install {
            collect_env_values(&install.config, lookup, &mut secrets);
        }
        let options = spec.backend.options.iter().chain(
            spec.node_groups
                .iter()
                .flat_map(|group| group.options.iter()),
        );
        for (name, value) in options {
            let lower = name.to_ascii_lowercase();
            if SECRET_WORDS.iter().any(|word| lower.contains(word)) {
                collect_strings(value, &mut secrets);
            }
        }
        secrets.extend(SECRET_ENV.iter().filter_map(|name| lookup(name)));
        Self::with_secrets(secrets)
    }

    pub fn with_secrets(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<Vec<u8>> = secrets
            .into_iter()
            .filter(|secret| secret.len() >= MIN_SECRET_LEN)
            .map(String::into_bytes)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Self { secrets }
    }

    /// The bytes with every known secret and URL password replaced.
    pub fn redact(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for secret in &self.secrets {
            out = replace_all(&out, secret, REDACTED.as_bytes());
            // A secret written JSON-escaped (in an event) is a secret too.
            if let Ok(escaped) = serde_json::to_string(&String::from_utf8_lossy(secret)) {
                let inner = escaped.as_bytes();
                let inner = &inner[1..inner.len() - 1];
                if inner != secret.as_slice() {
                    out = replace_all(&out, inner, REDACTED.as_bytes());
                }
            }
        }
        match URL_PASSWORD.as_ref() {
            Some(pattern) => pattern
                .replace_all(&out, format!("${{1}}:{REDACTED}@").as_bytes())
                .into_owned(),
            None => out,
        }
    }

    pub fn redact_text(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.redact(text.as_bytes())).into_owned()
    }
}

fn collect_env_values(
    value: &serde_json::Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<String>,
) {
    if let Some(name) = env_reference(value) {
        out.extend(lookup(name));
        return;
    }
    match value {
        serde_json::Value::Object(map) => {
            for item in map.values() {
                collect_env_values(item, lookup, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_env_values(item, lookup, out);
            }
        }
        _ => {}
    }
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_strings(item, out);
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values() {
                collect_strings(item, out);
            }
        }
        _ => {}
    }
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut at = 0;
    while at < haystack.len() {
        if haystack[at..].starts_with(needle) {
            out.extend_from_slice(with);
            at += needle.len();
        } else {
            out.push(haystack[at]);
            at += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(config: serde_json::Value, options: serde_json::Value) -> ClusterSpec {
        serde_json::from_value(json!({
            "name": "demo",
            "backend": { "kind": "local", "options": options },
            "node_groups": [{ "name": "a", "count": 1, "roles": [], "options": {} }],
            "install": { "from": { "kind": "path", "location": "i.sh" }, "config": config, "files": [] },
            "checks": { "validators": [], "debuggers": [] }
        }))
        .expect("spec")
    }

    #[test]
    fn env_values_secret_options_and_url_passwords_are_replaced() {
        let spec = spec(
            json!({ "db": { "password": { "env": "DB_PW" } }, "short": { "env": "ONE" }, "plain": "visible" }),
            json!({ "api_token": "tok-123456", "region": "eu-west-1" }),
        );
        let lookup = |name: &str| match name {
            "DB_PW" => Some("hunter2-\"quoted\"".to_owned()),
            "ONE" => Some("1".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI/K7MDENG".to_owned()),
            _ => None,
        };
        let redactor = Redactor::for_spec_with(&spec, &lookup);
        let text = r#"pw=hunter2-"quoted" json="hunter2-\"quoted\"" tok-123456 wJalrXUtnFEMI/K7MDENG eu-west-1 1 https://bob:s3cr3t@example.test/x visible"#;
        let out = redactor.redact_text(text);
        assert_eq!(
            out,
            "pw=[redacted] json=\"[redacted]\" [redacted] [redacted] eu-west-1 1 https://bob:[redacted]@example.test/x visible"
        );
    }
}
