//! The schema of a backend option: name, type, default, description.

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

    pub fn accepts(self, value: &Value) -> bool {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionType,
    /// `None` means the option has no default: required, or simply unset.
    pub default: Option<Value>,
    pub required: bool,
    pub description: String,
}

impl OptionSpec {
    pub fn new(name: &str, kind: OptionType, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            default: None,
            required: false,
            description: description.to_owned(),
        }
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
            r#"{"name":"cpus","type":"string_list","default":["a"],"required":true,"description":"cpus per node"}"#
        );
        let back: OptionSpec = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, spec);
    }
}
