//! JSON-RPC 2.0 framing: one JSON message per line. Only the shapes the host
//! needs: requests it sends (numeric ids), responses it receives, and
//! requests or notifications the plugin sends while a call runs.

use serde_json::{Value, json};

/// The plugin does not implement the method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The params were not what the method expects.
pub const INVALID_PARAMS: i64 = -32602;
/// The host could not do what a plugin's request asked (a journal write).
pub const INTERNAL_ERROR: i64 = -32603;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

/// One line read from the plugin.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The answer to one of the host's requests.
    Response {
        id: u64,
        result: Result<Value, RpcError>,
    },
    /// A request of the plugin's (journal entries wait for their answer).
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
}

/// Reads one line; `Err` says what is wrong with it, for the error the user sees.
pub fn parse_line(line: &str) -> Result<Incoming, String> {
    let value: Value =
        serde_json::from_str(line).map_err(|err| format!("not JSON ({err}): {}", excerpt(line)))?;
    let Some(object) = value.as_object() else {
        return Err(format!("not a JSON object: {}", excerpt(line)));
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(format!(
            "not JSON-RPC 2.0 (no \"jsonrpc\": \"2.0\"): {}",
            excerpt(line)
        ));
    }
    let params = object.get("params").cloned().unwrap_or(Value::Null);
    if let Some(method) = object.get("method") {
        let Some(method) = method.as_str() else {
            return Err(format!("\"method\" is not a string: {}", excerpt(line)));
        };
        return Ok(match object.get("id") {
            Some(id) if !id.is_null() => Incoming::Request {
                id: id.clone(),
                method: method.to_owned(),
                params,
            },
            _ => Incoming::Notification {
                method: method.to_owned(),
                params,
            },
        });
    }
    let Some(id) = object.get("id").and_then(Value::as_u64) else {
        return Err(format!(
            "a response without a numeric id the host could have sent: {}",
            excerpt(line)
        ));
    };
    let result = match (object.get("result"), object.get("error")) {
        (_, Some(error)) => Err(parse_error(error)
            .ok_or_else(|| format!("malformed \"error\" object: {}", excerpt(line)))?),
        (Some(result), None) => Ok(result.clone()),
        (None, None) => {
            return Err(format!(
                "a response with neither \"result\" nor \"error\": {}",
                excerpt(line)
            ));
        }
    };
    Ok(Incoming::Response { id, result })
}

fn parse_error(error: &Value) -> Option<RpcError> {
    Some(RpcError {
        code: error.get("code")?.as_i64()?,
        message: error.get("message")?.as_str()?.to_owned(),
        data: error.get("data").filter(|data| !data.is_null()).cloned(),
    })
}

pub fn request_line(id: u64, method: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

pub fn notification_line(method: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

pub fn response_line(id: &Value, result: &Result<Value, RpcError>) -> String {
    match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string(),
        Err(error) => {
            let mut object = json!({"code": error.code, "message": error.message});
            if let Some(data) = &error.data {
                object["data"] = data.clone();
            }
            json!({"jsonrpc": "2.0", "id": id, "error": object}).to_string()
        }
    }
}

/// The start of a bad line, quoted, so an error message stays one short line.
pub fn excerpt(line: &str) -> String {
    const MAX: usize = 120;
    let cut: String = line.chars().take(MAX).collect();
    if cut.len() < line.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_requests_and_notifications_are_told_apart() {
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","id":7,"result":[1]}"#),
            Ok(Incoming::Response {
                id: 7,
                result: Ok(json!([1]))
            })
        );
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#),
            Ok(Incoming::Response {
                id: 3,
                result: Err(RpcError {
                    code: METHOD_NOT_FOUND,
                    message: "no".into(),
                    data: None
                })
            })
        );
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","id":"j1","method":"journal.intent","params":{}}"#),
            Ok(Incoming::Request {
                id: json!("j1"),
                method: "journal.intent".into(),
                params: json!({})
            })
        );
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","method":"log","params":{"message":"hi"}}"#),
            Ok(Incoming::Notification {
                method: "log".into(),
                params: json!({"message": "hi"})
            })
        );
    }

    #[test]
    fn garbage_is_refused_with_what_was_wrong() {
        let bad = |line: &str| parse_line(line).expect_err(line);
        assert!(bad("hello").starts_with("not JSON"));
        assert!(bad("[1,2]").starts_with("not a JSON object"));
        assert!(bad(r#"{"id":1,"result":0}"#).contains("not JSON-RPC 2.0"));
        assert!(bad(r#"{"jsonrpc":"2.0","id":"x","result":0}"#).contains("numeric id"));
        assert!(bad(r#"{"jsonrpc":"2.0","id":1}"#).contains("neither"));
        assert!(bad(r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#).contains("malformed"));
        assert!(bad(&"x".repeat(500)).len() < 200, "long lines are cut");
    }

    #[test]
    fn lines_written_read_back() {
        let line = request_line(4, "info", &Value::Null);
        assert!(!line.contains('\n'));
        assert_eq!(
            serde_json::from_str::<Value>(&line).expect("json"),
            json!({"jsonrpc": "2.0", "id": 4, "method": "info", "params": null})
        );
        let error = RpcError {
            code: INTERNAL_ERROR,
            message: "disk full".into(),
            data: Some(json!({"kind": "io"})),
        };
        let line = response_line(&json!("j1"), &Err(error));
        assert_eq!(
            serde_json::from_str::<Value>(&line).expect("json")["error"]["data"]["kind"],
            "io"
        );
        assert!(notification_line("$/cancel", &json!({"id": 4})).contains("$/cancel"));
    }
}
