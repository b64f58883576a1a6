//! The schema of a backend option: name, type, default, description, where
//! it is given (cluster or group), whether it is a secret, and its choices.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionType {
    String,
    Integer,
    Boolean,
    StringList,
}

impl OptionType {
    pub fn describe(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "a whole number",
            Self::Boolean => "true or false",
            Self::StringList => "a list of strings",
        }
    }

    fn accepts_type(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.is_u64(),
            Self::Boolean => value.is_boolean(),
            Self::StringList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
        }
    }
}

/// Where an option is given: once for the cluster (`backend.options`) or
/// per node group (`node_groups[].options`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionScope {
    #[default]
    Cluster,
    Group,
}

/// Fields after `description` were added with the v2 contract; they default
/// so that an older schema still reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionType,
    /// `None` means the option has no default: required, or simply unset.
    pub default: Option<Value>,
    pub required: bool,
    pub description: String,
    #[serde(default)]
    pub scope: OptionScope,
    /// A credential: its value is never logged, printed, put in an event or
    /// stored resolved.
    #[serde(default)]
    pub secret: bool,
    /// The only values a string option may take; empty for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

impl OptionSpec {
    pub fn new(name: &str, kind: OptionType, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            default: None,
            required: false,
            description: description.to_owned(),
            scope: OptionScope::Cluster,
            secret: false,
            choices: Vec::new(),
        }
    }

    /// Whether `value` has the option's type and, if it has choices, is one.
    pub fn accepts(&self, value: &Value) -> bool {
        self.kind.accepts_type(value)
            && (self.choices.is_empty()
                || value
                    .as_str()
                    .is_some_and(|text| self.choices.iter().any(|choice| choice == text)))
    }

    /// What a value must be, for messages.
    pub fn describe(&self) -> String {
        if self.choices.is_empty() {
            self.kind.describe().to_owned()
        } else {
            format!("one of {}", self.choices.join(", "))
        }
    }

    pub fn in_groups(mut self) -> Self {
        self.scope = OptionScope::Group;
        self
    }

    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    pub fn with_choices(mut self, choices: &[&str]) -> Self {
        self.choices = choices.iter().map(|choice| (*choice).to_owned()).collect();
        self
    }

    pub fn with_default(mut self, default: Value) -> Self {
        self.default = Some(default);
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_option_spec_serializes_its_kind_as_type_and_reads_back() {
        let spec = OptionSpec::new("cpus", OptionType::StringList, "cpus per node")
            .with_default(json!(["a"]))
            .required();
        let json = serde_json::to_string(&spec).expect("serializes");
        assert_eq!(
            json,
            r#"{"name":"cpus","type":"string_list","default":["a"],"required":true,"description":"cpus per node","scope":"cluster","secret":false}"#
        );
        let back: OptionSpec = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, spec);
        let older: OptionSpec = serde_json::from_str(
            r#"{"name":"cpus","type":"integer","default":null,"required":false,"description":"d"}"#,
        )
        .expect("a schema without the v2 fields reads");
        assert_eq!((older.scope, older.secret), (OptionScope::Cluster, false));
    }

    #[test]
    fn choices_secrets_and_group_scope_round_trip_and_are_enforced() {
        let spec = OptionSpec::new("policy", OptionType::String, "host keys")
            .with_choices(&["strict", "accept-new"])
            .in_groups()
            .secret();
        let json = serde_json::to_value(&spec).expect("serializes");
        assert_eq!(json["choices"], json!(["strict", "accept-new"]));
        assert_eq!(json["scope"], "group");
        assert_eq!(json["secret"], true);
        let back: OptionSpec = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, spec);
        assert!(spec.accepts(&json!("strict")));
        assert!(!spec.accepts(&json!("loose")));
        assert!(!spec.accepts(&json!(1)));
        assert_eq!(spec.describe(), "one of strict, accept-new");
    }
}
