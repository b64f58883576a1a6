//! What a backend can do, published so frontends and validators can ask.

use serde::{Deserialize, Serialize};

/// What a backend can do; the engine and validators refuse the rest up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub create: bool,
    pub destroy: bool,
    pub install_from_path: bool,
    pub install_from_url: bool,
    pub scale: bool,
    pub stop_start: bool,
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
        };
        let json = serde_json::to_string(&capabilities).expect("serializes");
        assert_eq!(
            json,
            r#"{"create":true,"destroy":true,"install_from_path":true,"install_from_url":false,"scale":false,"stop_start":false}"#
        );
        let back: Capabilities = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, capabilities);
        assert_eq!(
            capabilities.names(),
            vec!["create", "destroy", "install-from-path"]
        );
    }
}
