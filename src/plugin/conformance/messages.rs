//! Every protocol line of a run, judged against the schema: the envelope of
//! each line, the params of each request and notification, the result of
//! each answer (by the method its id was asked for). Each problem is put
//! down to the method of the call it belongs to, so the report names it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::super::process::{Direction, Tap};
use super::super::schema::Schemas;

/// Outside any call (a notification nobody asked for, garbage between calls).
pub const PROTOCOL: &str = "protocol";

/// Keeps every line of a run, in order.
#[derive(Default)]
pub struct Recorder {
    lines: Mutex<Vec<(Direction, String)>>,
}

impl Recorder {
    pub fn tap(self: &Arc<Self>) -> Tap {
        let recorder = Arc::clone(self);
        Arc::new(move |direction, line| {
            if let Ok(mut lines) = recorder.lines.lock() {
                lines.push((direction, line.to_owned()));
            }
        })
    }

    pub fn lines(&self) -> Vec<(Direction, String)> {
        self.lines
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }
}

/// A problem with one line: the method it is put down to, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub method: String,
    pub problem: String,
}

/// Judges a conversation; empty when every line conforms.
pub fn judge(schemas: &Schemas, lines: &[(Direction, String)]) -> Vec<LineProblem> {
    let mut judge = Judge {
        schemas,
        host_calls: HashMap::new(),
        in_flight: Vec::new(),
        plugin_calls: HashMap::new(),
        problems: Vec::new(),
    };
    for (direction, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        judge.line(*direction, line);
    }
    judge.problems
}

struct Judge<'a> {
    schemas: &'a Schemas,
    /// The host's calls by id: their method.
    host_calls: HashMap<u64, String>,
    /// Host calls not yet answered, oldest first.
    in_flight: Vec<u64>,
    /// The plugin's requests by id: (method, the host call they belong to).
    plugin_calls: HashMap<String, (String, String)>,
    problems: Vec<LineProblem>,
}

impl Judge<'_> {
    fn line(&mut self, direction: Direction, line: &str) {
        let who = match direction {
            Direction::ToPlugin => "the host sent",
            Direction::FromPlugin => "the plugin sent",
        };
        let value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(err) => {
                let owner = self.oldest();
                self.problem(
                    &owner,
                    format!("{who} a line that is not JSON ({err}): {}", excerpt(line)),
                );
                return;
            }
        };
        let method = value
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let has_id = value.get("id").is_some_and(|id| !id.is_null());
        match (direction, method, has_id) {
            (Direction::ToPlugin, Some(method), true) => self.host_request(&value, &method),
            (Direction::FromPlugin, Some(method), true) => self.plugin_request(&value, &method),
            (_, Some(method), false) => self.notification(direction, &value, &method),
            (Direction::FromPlugin, None, _) => self.plugin_answer(&value),
            (Direction::ToPlugin, None, _) => self.host_answer(&value),
        }
    }

    fn host_request(&mut self, value: &Value, method: &str) {
        self.check(method, "host_request", value, "the host sent a request");
        self.check_params(method, method, value, "the host sent");
        if let Some(id) = value.get("id").and_then(Value::as_u64) {
            self.host_calls.insert(id, method.to_owned());
            self.in_flight.push(id);
        }
    }

    fn plugin_request(&mut self, value: &Value, method: &str) {
        let owner = self.owner(value);
        self.check(&owner, "request", value, "the plugin sent a request");
        self.check_params(&owner, method, value, "the plugin sent");
        let id = value.get("id").map(Value::to_string).unwrap_or_default();
        self.plugin_calls.insert(id, (method.to_owned(), owner));
    }

    fn notification(&mut self, direction: Direction, value: &Value, method: &str) {
        let (owner, who) = match direction {
            Direction::ToPlugin => {
                // `$/cancel` names the call it cancels.
                let cancelled = value
                    .pointer("/params/id")
                    .and_then(Value::as_u64)
                    .and_then(|id| self.host_calls.get(&id).cloned());
                (
                    cancelled.unwrap_or_else(|| PROTOCOL.to_owned()),
                    "the host sent",
                )
            }
            Direction::FromPlugin => (self.owner(value), "the plugin sent"),
        };
        self.check(
            &owner,
            "notification",
            value,
            &format!("{who} a notification"),
        );
        self.check_params(&owner, method, value, who);
    }

    fn plugin_answer(&mut self, value: &Value) {
        let id = value.get("id").and_then(Value::as_u64);
        let Some((id, method)) = id.and_then(|id| Some((id, self.host_calls.get(&id)?.clone())))
        else {
            let owner = self.oldest();
            self.problem(
                &owner,
                format!(
                    "the plugin answered an id the host never asked: {}",
                    excerpt(&value.to_string())
                ),
            );
            return;
        };
        self.in_flight.retain(|pending| *pending != id);
        self.answer(&method, &method, value, "the plugin");
    }

    fn host_answer(&mut self, value: &Value) {
        let id = value.get("id").map(Value::to_string).unwrap_or_default();
        match self.plugin_calls.get(&id).cloned() {
            Some((method, owner)) => self.answer(&owner, &method, value, "the host"),
            None => self.problem(
                PROTOCOL,
                format!(
                    "the host answered an id the plugin never asked: {}",
                    excerpt(&value.to_string())
                ),
            ),
        }
    }

    /// A response or an error response to `method`, put down to `owner`.
    fn answer(&mut self, owner: &str, method: &str, value: &Value, who: &str) {
        if value.get("error").is_some() {
            self.check(
                owner,
                "error_response",
                value,
                &format!("{who}'s error answer to {method}"),
            );
            return;
        }
        self.check(
            owner,
            "response",
            value,
            &format!("{who}'s answer to {method}"),
        );
        let result = format!("{method}.result");
        if self.schemas.defines(&result) {
            let found = self.schemas.problems(&result, &value["result"]);
            for problem in found {
                self.problem(owner, format!("result of {method}: {problem}"));
            }
        }
    }

    fn check_params(&mut self, owner: &str, method: &str, value: &Value, who: &str) {
        let name = format!("{method}.params");
        if !self.schemas.defines(&name) {
            self.problem(
                owner,
                format!("{who} {method}, which the protocol does not have"),
            );
            return;
        }
        let params = value.get("params").cloned().unwrap_or(Value::Null);
        for problem in self.schemas.problems(&name, &params) {
            self.problem(owner, format!("{who} {method} with params: {problem}"));
        }
    }

    fn check(&mut self, owner: &str, schema: &str, value: &Value, what: &str) {
        for problem in self.schemas.problems(schema, value) {
            self.problem(
                owner,
                format!("{what} that is not a JSON-RPC {schema}: {problem}"),
            );
        }
    }

    /// The call a message of the plugin belongs to: `params.request`, else
    /// the oldest in flight.
    fn owner(&self, value: &Value) -> String {
        value
            .pointer("/params/request")
            .and_then(Value::as_u64)
            .and_then(|id| self.host_calls.get(&id).cloned())
            .unwrap_or_else(|| self.oldest())
    }

    fn oldest(&self) -> String {
        self.in_flight
            .first()
            .and_then(|id| self.host_calls.get(id).cloned())
            .unwrap_or_else(|| PROTOCOL.to_owned())
    }

    fn problem(&mut self, method: &str, problem: String) {
        self.problems.push(LineProblem {
            method: method.to_owned(),
            problem,
        });
    }
}

fn excerpt(line: &str) -> String {
    super::super::rpc::excerpt(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{FromPlugin, ToPlugin};

    fn conversation(lines: &[(Direction, &str)]) -> Vec<LineProblem> {
        let schemas = Schemas::load().expect("loads");
        let lines: Vec<_> = lines.iter().map(|(d, l)| (*d, (*l).to_owned())).collect();
        judge(&schemas, &lines)
    }

    #[test]
    fn a_conforming_call_with_a_journal_request_has_no_problems() {
        let problems = conversation(&[
            (
                ToPlugin,
                r#"{"jsonrpc":"2.0","id":1,"method":"prepare","params":{"context":{"cluster":{"name":"c","uid":"c-1","labels":{}},"state_dir":"/s","options":{}}}}"#,
            ),
            (
                FromPlugin,
                r#"{"jsonrpc":"2.0","id":"p1","method":"journal.intent","params":{"request":1,"resource":{"kind":"net","key":"n","scope":{"kind":"cluster"}}}}"#,
            ),
            (ToPlugin, r#"{"jsonrpc":"2.0","id":"p1","result":null}"#),
            (
                FromPlugin,
                r#"{"jsonrpc":"2.0","method":"progress","params":{"request":1,"percent":50}}"#,
            ),
            (FromPlugin, r#"{"jsonrpc":"2.0","id":1,"result":null}"#),
        ]);
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn problems_are_put_down_to_the_call_they_belong_to() {
        let problems = conversation(&[
            (
                ToPlugin,
                r#"{"jsonrpc":"2.0","id":1,"method":"info","params":null}"#,
            ),
            (
                ToPlugin,
                r#"{"jsonrpc":"2.0","id":2,"method":"list_labelled","params":{"state_root":"/s","options":{}}}"#,
            ),
            (
                FromPlugin,
                r#"{"jsonrpc":"2.0","method":"progress","params":{"request":2,"percent":500}}"#,
            ),
            (
                FromPlugin,
                r#"{"jsonrpc":"2.0","id":2,"result":[{"id":"x"}]}"#,
            ),
            (
                FromPlugin,
                r#"{"jsonrpc":"2.0","method":"shout","params":{}}"#,
            ),
            (FromPlugin, "garbage"),
            (
                FromPlugin,
                r#"{"jsonrpc":"2.0","id":1,"result":{"kind":"d"}}"#,
            ),
            (FromPlugin, r#"{"jsonrpc":"2.0","id":9,"result":null}"#),
        ]);
        let has = |method: &str, text: &str| {
            problems
                .iter()
                .any(|p| p.method == method && p.problem.contains(text))
        };
        assert!(has("list_labelled", "/percent"), "{problems:#?}");
        assert!(
            has("list_labelled", "result of list_labelled: /0"),
            "{problems:#?}"
        );
        assert!(
            has("info", "shout, which the protocol does not have"),
            "{problems:#?}"
        );
        assert!(has("info", "not JSON"), "{problems:#?}");
        assert!(has("info", "result of info: /"), "{problems:#?}");
        assert!(has("protocol", "never asked"), "{problems:#?}");
        assert!(
            problems
                .iter()
                .all(|p| ["info", "list_labelled", "protocol"].contains(&p.method.as_str())),
            "{problems:#?}"
        );
    }
}
