//! What a backend can do, published so frontends and validators can ask.

use serde::{Deserialize, Serialize};

/// What a backend can do; the engine and validators refuse the rest up front.
/// Fields added later default to "cannot", so an older plugin's answer still reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub create: bool,
    pub destroy: bool,
    pub install_from_path: bool,
    pub install_from_url: bool,
    pub scale: bool,
    pub stop_start: bool,
    /// Can list what carries clusterdeck's labels without a cluster record.
    #[serde(default)]
    pub gc: bool,
    /// Can report node state changes as they happen (`watch`), so the
    /// dashboard need not poll.
    #[serde(default)]
    pub watch: bool,
    /// Where an installer named by URL is downloaded; records written before
    /// this field existed mean the host.
    #[serde(default)]
    pub url_fetch: UrlFetch,
}

/// Where a backend wants installer URLs fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlFetch {
    /// clusterdeck downloads once, checks the digest, then uploads to every
    /// node like a path installer: for nodes with no route to the URL.
    #[default]
    Host,
    /// Every node downloads for itself (curl or wget) and checks the digest
    /// there: for nodes closer to the URL than clusterdeck is.
    Node,
}

impl Capabilities {
    /// The names of what is supported, for listings.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.create, "create"),
            (self.destroy, "destroy"),
            (self.install_from_path, "install-from-path"),
            (self.install_from_url, "install-from-url"),
            (self.scale, "scale"),
            (self.stop_start, "stop-start"),
            (self.gc, "gc"),
            (self.watch, "watch"),
        ]
        .into_iter()
        .filter_map(|(supported, name)| supported.then_some(name))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_round_trip_and_list_what_is_supported() {
        let capabilities = Capabilities {
            create: true,
            destroy: true,
            install_from_path: true,
            install_from_url: false,
            scale: false,
            stop_start: false,
            gc: true,
            watch: false,
            url_fetch: UrlFetch::Host,
        };
        let json = serde_json::to_string(&capabilities).expect("serializes");
        assert_eq!(
            json,
            r#"{"create":true,"destroy":true,"install_from_path":true,"install_from_url":false,"scale":false,"stop_start":false,"gc":true,"watch":false,"url_fetch":"host"}"#
        );
        let back: Capabilities = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, capabilities);
        let older: Capabilities = serde_json::from_str(
            r#"{"create":true,"destroy":true,"install_from_path":true,"install_from_url":false,"scale":false,"stop_start":false}"#,
        )
        .expect("a record without url_fetch deserializes");
        assert_eq!(older.url_fetch, UrlFetch::Host);
        let node: UrlFetch = serde_json::from_str(r#""node""#).expect("snake_case");
        assert_eq!(node, UrlFetch::Node);
        assert_eq!(
            capabilities.names(),
            vec!["create", "destroy", "install-from-path", "gc"]
        );
        let older: Capabilities = serde_json::from_str(
            r#"{"create":true,"destroy":true,"install_from_path":true,"install_from_url":false,"scale":false,"stop_start":false}"#,
        )
        .expect("an answer without the newer fields reads");
        assert!(!older.gc);
        assert!(!older.watch, "an older answer cannot watch");
        assert_eq!(older.url_fetch, UrlFetch::Host);
    }
}
