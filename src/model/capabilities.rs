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
    /// Where a URL installer is fetched.
    #[serde(default)]
    pub url_fetch: UrlFetch,
}

/// Where an installer given as a URL is downloaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlFetch {
    /// By clusterdeck, which then uploads it to each node.
    #[default]
    Host,
    /// On each node, by the node itself.
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
            url_fetch: UrlFetch::Host,
        };
        let json = serde_json::to_string(&capabilities).expect("serializes");
        assert_eq!(
            json,
            r#"{"create":true,"destroy":true,"install_from_path":true,"install_from_url":false,"scale":false,"stop_start":false,"gc":true,"url_fetch":"host"}"#
        );
        let back: Capabilities = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, capabilities);
        assert_eq!(
            capabilities.names(),
            vec!["create", "destroy", "install-from-path", "gc"]
        );
        let older: Capabilities = serde_json::from_str(
            r#"{"create":true,"destroy":true,"install_from_path":true,"install_from_url":false,"scale":false,"stop_start":false}"#,
        )
        .expect("an answer without the newer fields reads");
        assert!(!older.gc);
        assert_eq!(older.url_fetch, UrlFetch::Host);
    }
}
