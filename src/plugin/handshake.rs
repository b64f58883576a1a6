//! `initialize`: the host offers the protocol versions it speaks, the plugin
//! answers the one it will use, its name, version and kinds.

use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{NoContext, PluginClient};
use super::error::PluginError;

/// The protocol versions this host speaks.
pub const PROTOCOL_VERSIONS: &[u64] = &[1];

/// The kinds of plugin this host knows how to use.
pub const KINDS: &[&str] = &["backend", "validator", "debugger", "distribution"];

/// What a plugin says of itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginHello {
    pub protocol_version: u64,
    pub name: String,
    #[serde(default)]
    pub version: String,
    pub kinds: Vec<String>,
}

pub fn initialize_params() -> Value {
    json!({
        "protocol_versions": PROTOCOL_VERSIONS,
        "host": {"name": "clusterdeck", "version": env!("CARGO_PKG_VERSION")},
    })
}

/// Runs `initialize` and checks the answer: a version the host offered, and
/// the kind `wanted`.
pub async fn initialize(client: &PluginClient, wanted: &str) -> Result<PluginHello, PluginError> {
    let result = client
        .call("initialize", initialize_params(), &NoContext, None)
        .await?;
    check(client.name(), &result, Some(wanted))
}

/// `initialize` for a listing, which takes a plugin of any kind: only the
/// version and the answer's shape are checked.
pub async fn initialize_any(client: &PluginClient) -> Result<PluginHello, PluginError> {
    let result = client
        .call("initialize", initialize_params(), &NoContext, None)
        .await?;
    check(client.name(), &result, None)
}

fn check(plugin: &str, result: &Value, wanted: Option<&str>) -> Result<PluginHello, PluginError> {
    if let Some(answered) = result.get("protocol_version")
        && !answered
            .as_u64()
            .is_some_and(|version| PROTOCOL_VERSIONS.contains(&version))
    {
        return Err(PluginError::Version {
            plugin: plugin.to_owned(),
            offered: format!("{PROTOCOL_VERSIONS:?}"),
            answered: answered.to_string(),
        });
    }
    let hello: PluginHello =
        serde_json::from_value(result.clone()).map_err(|err| PluginError::Shape {
            plugin: plugin.to_owned(),
            method: "initialize".to_owned(),
            detail: err.to_string(),
        })?;
    if let Some(wanted) = wanted
        && !hello.kinds.iter().any(|kind| kind == wanted)
    {
        return Err(PluginError::Handshake {
            plugin: plugin.to_owned(),
            detail: format!(
                "it is not a {wanted} plugin (it says it is: {})",
                hello.kinds.join(", ")
            ),
        });
    }
    Ok(hello)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_for_version_and_kind() {
        let good =
            json!({"protocol_version": 1, "name": "dirs", "version": "0.1", "kinds": ["backend"]});
        assert_eq!(
            check("dirs", &good, Some("backend")).map(|hello| hello.name),
            Ok("dirs".to_owned())
        );
        let future = json!({"protocol_version": 9, "name": "dirs", "kinds": ["backend"]});
        assert_eq!(
            check("dirs", &future, Some("backend")).map_err(|err| err.to_string()),
            Err("plugin dirs speaks protocol version 9; clusterdeck speaks [1]".to_owned())
        );
        let validator = json!({"protocol_version": 1, "name": "v", "kinds": ["validator"]});
        assert!(
            check("v", &validator, Some("backend"))
                .is_err_and(|err| err.to_string().contains("not a backend plugin"))
        );
        assert_eq!(
            check("v", &validator, None).map(|hello| hello.kinds),
            Ok(vec!["validator".to_owned()])
        );
        assert!(matches!(
            check("x", &json!({"protocol_version": 1}), Some("backend")),
            Err(PluginError::Shape { .. })
        ));
    }
}
