//! Installer URLs in a spec: which `from:` values are URLs, which of those we
//! can fetch, and how a URL is shown without the credentials it may carry.

use serde::Serializer;

/// The schemes clusterdeck fetches installers over.
const FETCHABLE_SCHEMES: &[&str] = &["http", "https"];

/// How a `from:` value reads.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FromKind {
    /// Not a URL: a path on this machine.
    Path,
    /// An http(s) URL with a host.
    Url,
    /// Looks like a URL but cannot be fetched; the text says why.
    BadUrl(String),
}

/// Sorts a `from:` value into a path or a URL. Anything of the form
/// `scheme://` is taken as a URL, so `ftp://…` is refused rather than being
/// looked for as a relative path called `ftp:`.
pub(super) fn classify(text: &str) -> FromKind {
    let Some(scheme) = url_scheme(text) else {
        return FromKind::Path;
    };
    if !FETCHABLE_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
        return FromKind::BadUrl(format!(
            "unsupported URL scheme {scheme:?} in {}: expected an http:// or https:// URL, or a path",
            redact_userinfo(text)
        ));
    }
    match url::Url::parse(text) {
        Ok(parsed) if parsed.host_str().is_some_and(|host| !host.is_empty()) => FromKind::Url,
        Ok(_) => FromKind::BadUrl(format!(
            "expected a URL with a host, found {}",
            redact_userinfo(text)
        )),
        // Not echoed: a URL that does not parse may not redact cleanly either.
        Err(err) => FromKind::BadUrl(format!("expected an http(s) URL: {err}")),
    }
}

/// The scheme of `scheme://…`, if the text starts like a URL.
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// The URL as written, minus any `user:password@`, for every message, event
/// and stored record: credentials in a URL are secrets.
pub fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{}{tail}", &authority[at + 1..]),
        None => url.to_owned(),
    }
}

/// True for a SHA-256 digest written as 64 hexadecimal digits.
pub(super) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Records keep the URL without its credentials (see [`redact_userinfo`]).
pub(super) fn serialize_redacted<S: Serializer>(
    url: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redact_userinfo(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_urls_and_unfetchable_urls_are_told_apart() {
        assert_eq!(classify("./install.sh"), FromKind::Path);
        assert_eq!(classify("dir/a:b.sh"), FromKind::Path);
        assert_eq!(classify("https://example.test/i.sh"), FromKind::Url);
        assert_eq!(classify("HTTP://example.test/i.sh"), FromKind::Url);
        let FromKind::BadUrl(message) = classify("ftp://bob:secret@example.test/i.sh") else {
            panic!("ftp is refused");
        };
        assert_eq!(
            message,
            r#"unsupported URL scheme "ftp" in ftp://example.test/i.sh: expected an http:// or https:// URL, or a path"#
        );
        assert_eq!(
            classify("https://"),
            FromKind::BadUrl("expected an http(s) URL: empty host".to_owned())
        );
        assert!(matches!(
            classify("http://exa mple/i.sh"),
            FromKind::BadUrl(_)
        ));
    }

    #[test]
    fn credentials_never_survive_redaction() {
        assert_eq!(
            redact_userinfo("https://bob:s3cret@example.test/a@b/i.sh?x=@"),
            "https://example.test/a@b/i.sh?x=@"
        );
        assert_eq!(
            redact_userinfo("https://token@example.test"),
            "https://example.test"
        );
        assert_eq!(
            redact_userinfo("https://example.test/i.sh"),
            "https://example.test/i.sh"
        );
        assert_eq!(redact_userinfo("./not-a-url"), "./not-a-url");
    }

    #[test]
    fn sha256_is_exactly_64_hex_digits() {
        assert!(is_sha256_hex(
            &"aB3".repeat(21).chars().chain(['0']).collect::<String>()
        ));
        assert!(!is_sha256_hex(&"a".repeat(63)));
        assert!(!is_sha256_hex(&"g".repeat(64)));
    }

    fn install_errors(install: &str) -> Vec<String> {
        let text =
            format!("name: demo\nnode_groups: [{{ name: a, count: 1 }}]\ninstall:\n{install}");
        match crate::spec::parse(&text, std::path::Path::new("c.yaml")) {
            Ok(spec) => panic!("expected errors, parsed {:?}", spec.install),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_url_source_takes_a_pinned_digest_in_lowercase() {
        let digest = "AB".repeat(32);
        let text = format!(
            "name: demo\nnode_groups: [{{ name: a, count: 1 }}]\ninstall: {{ from: 'https://example.test/get/i.sh', sha256: {digest} }}\n"
        );
        let spec = crate::spec::parse(&text, std::path::Path::new("c.yaml")).expect("parses");
        let install = spec.install.expect("install");
        assert_eq!(
            install.from,
            Some(crate::spec::InstallSource::Url(
                "https://example.test/get/i.sh".to_owned()
            ))
        );
        assert_eq!(install.sha256, Some("ab".repeat(32)));
    }

    #[test]
    fn bad_digests_digests_on_paths_and_other_schemes_are_errors_with_positions() {
        assert_eq!(
            install_errors("  from: https://example.test/i.sh\n  sha256: abc123\n"),
            vec![
                r#"c.yaml:5:11: install.sha256: expected a SHA-256 digest of 64 hexadecimal digits, found "abc123" (6 characters)"#
            ]
        );
        assert_eq!(
            install_errors(&format!("  from: ./i.sh\n  sha256: {}\n", "0f".repeat(32))),
            vec![
                "c.yaml:5:11: install.sha256: `sha256` only applies when `from` is an http(s) URL; remove it for a path"
            ]
        );
        assert_eq!(
            install_errors("  from: file:///srv/i.sh\n"),
            vec![
                r#"c.yaml:4:9: install.from: unsupported URL scheme "file" in file:///srv/i.sh: expected an http:// or https:// URL, or a path"#
            ]
        );
    }

    #[test]
    fn records_keep_urls_without_credentials() {
        let source = crate::spec::InstallSource::Url("https://bob:pw@example.test/i.sh".to_owned());
        let json = serde_json::to_string(&source).expect("serializes");
        assert_eq!(
            json,
            r#"{"kind":"url","location":"https://example.test/i.sh"}"#
        );
    }
}
