//! A small typed reader over saphyr's marked YAML tree that collects errors
//! instead of stopping at the first, and knows the field path of every node.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use saphyr::{MarkedYamlOwned, ScalarOwned, YamlDataOwned};

use super::error::{SpecError, SpecLocation};

/// Collects errors while a document is read.
pub struct Reader {
    file: PathBuf,
    pub errors: Vec<SpecError>,
    /// Where the key of each mapping value is, by node address: saphyr gives
    /// block collections no start position, so errors about them point at
    /// their key instead.
    key_locations: HashMap<usize, SpecLocation>,
}

/// A node together with its field path.
#[derive(Clone, Copy)]
pub struct Val<'n> {
    pub node: &'n MarkedYamlOwned,
    path: &'n str,
}

impl<'n> Val<'n> {
    pub fn new(node: &'n MarkedYamlOwned, path: &'n str) -> Self {
        Self { node, path }
    }

    pub fn path(&self) -> &str {
        self.path
    }

    /// Follows explicit tags (`!!str x`) to the value they wrap.
    fn data(&self) -> &'n YamlDataOwned<MarkedYamlOwned> {
        let mut node = self.node;
        while let YamlDataOwned::Tagged(_, inner) = &node.data {
            node = inner;
        }
        &node.data
    }

    pub fn is_null(&self) -> bool {
        matches!(self.data(), YamlDataOwned::Value(ScalarOwned::Null))
    }
}

/// A mapping being read: fields are taken one by one, the rest are unknown.
pub struct MapView<'n> {
    val: Val<'n>,
    entries: Vec<(String, &'n MarkedYamlOwned, &'n MarkedYamlOwned, bool)>,
}

impl Reader {
    pub fn new(file: &Path) -> Self {
        Self {
            file: file.to_path_buf(),
            errors: Vec::new(),
            key_locations: HashMap::new(),
        }
    }

    pub fn location(&self, node: &MarkedYamlOwned) -> SpecLocation {
        self.known_location(node).unwrap_or_else(|| SpecLocation {
            file: self.file.clone(),
            line: 1,
            column: 1,
        })
    }

    /// The node's own position if it has one, else its key's, else that of
    /// its first child.
    fn known_location(&self, node: &MarkedYamlOwned) -> Option<SpecLocation> {
        if node.span.start.line() > 0 {
            return Some(SpecLocation {
                file: self.file.clone(),
                line: node.span.start.line(),
                column: node.span.start.col() + 1,
            });
        }
        if let Some(location) = self.key_locations.get(&node_address(node)) {
            return Some(location.clone());
        }
        match &node.data {
            YamlDataOwned::Mapping(mapping) => mapping
                .iter()
                .next()
                .and_then(|(key, _)| self.known_location(key)),
            YamlDataOwned::Sequence(items) => {
                items.first().and_then(|item| self.known_location(item))
            }
            YamlDataOwned::Tagged(_, inner) => self.known_location(inner),
            _ => None,
        }
    }

    pub fn error(&mut self, val: Val<'_>, message: impl Into<String>) {
        let location = self.location(val.node);
        self.errors
            .push(SpecError::at(location, val.path(), message.into()));
    }

    /// Records the location of `val` and of everything inside it, by field
    /// path, the same paths errors use.
    pub fn record_positions(&mut self, val: Val<'_>, out: &mut BTreeMap<String, SpecLocation>) {
        out.insert(val.path.to_owned(), self.location(val.node));
        match val.data() {
            YamlDataOwned::Mapping(mapping) => {
                for (key, value) in mapping {
                    if let Some(location) = self.known_location(key) {
                        self.key_locations.insert(node_address(value), location);
                    }
                    if let Some(name) = scalar_text(key) {
                        let path = join(val.path, &name);
                        self.record_positions(Val::new(value, &path), out);
                    }
                }
            }
            YamlDataOwned::Sequence(items) => {
                for (index, item) in items.iter().enumerate() {
                    let path = format!("{}[{index}]", val.path);
                    self.record_positions(Val::new(item, &path), out);
                }
            }
            _ => {}
        }
    }

    /// Reads a mapping; `None` (with an error) if the node is something else.
    pub fn map<'n>(&mut self, val: Val<'n>) -> Option<MapView<'n>> {
        match val.data() {
            YamlDataOwned::Mapping(mapping) => {
                let mut entries = Vec::with_capacity(mapping.len());
                for (key, value) in mapping {
                    if let Some(location) = self.known_location(key) {
                        self.key_locations.insert(node_address(value), location);
                    }
                    match scalar_text(key) {
                        Some(name) => entries.push((name, key, value, false)),
                        None => {
                            let key_val = Val::new(key, val.path);
                            self.error(key_val, "expected a field name, found a collection");
                        }
                    }
                }
                Some(MapView { val, entries })
            }
            _ => {
                self.error(val, format!("expected a mapping, found {}", describe(val)));
                None
            }
        }
    }

    /// Reads a sequence; each item is returned with its indexed path.
    pub fn seq<'n>(&mut self, val: Val<'n>) -> Option<Vec<(String, &'n MarkedYamlOwned)>> {
        match val.data() {
            YamlDataOwned::Sequence(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| (format!("{}[{index}]", val.path), item))
                    .collect(),
            ),
            _ => {
                self.error(val, format!("expected a list, found {}", describe(val)));
                None
            }
        }
    }

    pub fn string(&mut self, val: Val<'_>) -> Option<String> {
        match val.data() {
            YamlDataOwned::Value(ScalarOwned::String(text)) => Some(text.clone()),
            YamlDataOwned::Representation(text, _, _) => Some(text.clone()),
            _ => {
                self.error(val, format!("expected a string, found {}", describe(val)));
                None
            }
        }
    }

    /// A non-empty name made of letters, digits, `-`, `_` and `.`: these end up
    /// in directory names, container names and tags.
    pub fn name(&mut self, val: Val<'_>) -> Option<String> {
        let text = self.string(val)?;
        if super::is_valid_name(&text) {
            Some(text)
        } else {
            self.error(
                val,
                format!(
                    "expected a name of 1-63 letters, digits, '-', '_' or '.' starting with a letter or digit, found {:?}",
                    text
                ),
            );
            None
        }
    }

    pub fn whole_number(&mut self, val: Val<'_>) -> Option<u32> {
        match val.data() {
            YamlDataOwned::Value(ScalarOwned::Integer(number)) => match u32::try_from(*number) {
                Ok(number) => Some(number),
                Err(_) => {
                    self.error(val, format!("expected a whole number ≥ 0, found {number}"));
                    None
                }
            },
            _ => {
                self.error(
                    val,
                    format!("expected a whole number ≥ 0, found {}", describe(val)),
                );
                None
            }
        }
    }

    pub fn integer(&mut self, val: Val<'_>) -> Option<i32> {
        match val.data() {
            YamlDataOwned::Value(ScalarOwned::Integer(number)) => {
                i32::try_from(*number).ok().or_else(|| {
                    self.error(val, format!("expected an integer, found {number}"));
                    None
                })
            }
            _ => {
                self.error(val, format!("expected an integer, found {}", describe(val)));
                None
            }
        }
    }

    /// A list of names; a single name is accepted as a one-item list.
    pub fn name_list(&mut self, val: Val<'_>) -> Option<Vec<String>> {
        if matches!(val.data(), YamlDataOwned::Value(ScalarOwned::String(_))) {
            return self.name(val).map(|name| vec![name]);
        }
        let items = self.seq(val)?;
        let mut names = Vec::with_capacity(items.len());
        let mut ok = true;
        for (path, item) in &items {
            match self.name(Val::new(item, path)) {
                Some(name) => names.push(name),
                None => ok = false,
            }
        }
        ok.then_some(names)
    }

    /// A duration as `10s`, `1m 30s`, `500ms`, or a bare number of seconds.
    pub fn duration(&mut self, val: Val<'_>) -> Option<Duration> {
        let parsed = match val.data() {
            YamlDataOwned::Value(ScalarOwned::Integer(seconds)) if *seconds > 0 => {
                Some(Duration::from_secs(seconds.unsigned_abs()))
            }
            YamlDataOwned::Value(ScalarOwned::String(text)) => humantime::parse_duration(text)
                .ok()
                .filter(|duration| *duration >= super::MIN_TIMEOUT),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                val,
                format!(
                    "expected a duration of at least 1ms such as 10s, 1m 30s or 500ms, found {}",
                    describe(val)
                ),
            );
        }
        parsed
    }

    /// Any YAML value as JSON, for free-form options and installer config.
    pub fn json(&mut self, val: Val<'_>) -> Option<serde_json::Value> {
        use serde_json::Value;
        Some(match val.data() {
            YamlDataOwned::Value(ScalarOwned::Null) => Value::Null,
            YamlDataOwned::Value(ScalarOwned::Boolean(flag)) => Value::Bool(*flag),
            YamlDataOwned::Value(ScalarOwned::Integer(number)) => Value::from(*number),
            YamlDataOwned::Value(ScalarOwned::FloatingPoint(number)) => {
                serde_json::Number::from_f64(number.0).map_or(Value::Null, Value::Number)
            }
            YamlDataOwned::Value(ScalarOwned::String(text)) => Value::String(text.clone()),
            YamlDataOwned::Representation(text, _, _) => Value::String(text.clone()),
            YamlDataOwned::Sequence(_) => {
                let items = self.seq(val)?;
                let mut out = Vec::with_capacity(items.len());
                for (path, item) in &items {
                    out.push(self.json(Val::new(item, path))?);
                }
                Value::Array(out)
            }
            YamlDataOwned::Mapping(_) => Value::Object(self.json_map(val)?.into_iter().collect()),
            YamlDataOwned::Alias(_) | YamlDataOwned::Tagged(_, _) | YamlDataOwned::BadValue => {
                self.error(val, "anchors and aliases are not supported in a spec");
                return None;
            }
        })
    }

    /// A mapping of free-form values, keyed by string.
    pub fn json_map(&mut self, val: Val<'_>) -> Option<BTreeMap<String, serde_json::Value>> {
        let mut map = self.map(val)?;
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (key, path, node) in map.take_all() {
            match self.json(Val::new(node, &path)) {
                Some(value) => {
                    out.insert(key, value);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

impl<'n> MapView<'n> {
    /// Takes a field; returns its node and the path for its errors.
    pub fn take(&mut self, field: &str) -> Option<(String, &'n MarkedYamlOwned)> {
        let entry = self.entries.iter_mut().find(|entry| entry.0 == field)?;
        entry.3 = true;
        Some((join(self.val.path, field), entry.2))
    }

    /// Takes a field that must be present; reports it missing otherwise.
    pub fn require(
        &mut self,
        reader: &mut Reader,
        field: &str,
        expected: &str,
    ) -> Option<(String, &'n MarkedYamlOwned)> {
        let found = self.take(field);
        if found.is_none() {
            // A block mapping's own span can start before its first key (even on
            // line 0), so point at the first key: that is where the user looks.
            let anchor = self.entries.first().map_or(self.val.node, |entry| entry.1);
            reader.error(
                Val::new(anchor, self.val.path),
                format!("missing required field `{field}` ({expected})"),
            );
        }
        found
    }

    pub fn take_all(&mut self) -> Vec<(String, String, &'n MarkedYamlOwned)> {
        let path = self.val.path;
        self.entries
            .iter_mut()
            .map(|entry| {
                entry.3 = true;
                (entry.0.clone(), join(path, &entry.0), entry.2)
            })
            .collect()
    }

    /// Reports every field that was not taken, suggesting the nearest known one.
    pub fn finish(self, reader: &mut Reader, known: &[&str]) {
        for (name, key, _, taken) in &self.entries {
            if *taken {
                continue;
            }
            let hint = match closest(name, known) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => format!("; expected one of: {}", known.join(", ")),
            };
            let path = join(self.val.path, name);
            reader.error(Val::new(key, &path), format!("unknown field{hint}"));
        }
    }
}

fn node_address(node: &MarkedYamlOwned) -> usize {
    std::ptr::from_ref(node) as usize
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

fn scalar_text(node: &MarkedYamlOwned) -> Option<String> {
    match &node.data {
        YamlDataOwned::Value(ScalarOwned::String(text)) => Some(text.clone()),
        YamlDataOwned::Value(ScalarOwned::Integer(number)) => Some(number.to_string()),
        YamlDataOwned::Value(ScalarOwned::Boolean(flag)) => Some(flag.to_string()),
        YamlDataOwned::Representation(text, _, _) => Some(text.clone()),
        _ => None,
    }
}

/// How a value looks to the user, for "found ..." in messages.
pub fn describe(val: Val<'_>) -> String {
    match val.data() {
        YamlDataOwned::Value(ScalarOwned::Null) => "nothing (null)".to_owned(),
        YamlDataOwned::Value(ScalarOwned::Boolean(flag)) => flag.to_string(),
        YamlDataOwned::Value(ScalarOwned::Integer(number)) => number.to_string(),
        YamlDataOwned::Value(ScalarOwned::FloatingPoint(number)) => number.0.to_string(),
        YamlDataOwned::Value(ScalarOwned::String(text)) => format!("{text:?}"),
        YamlDataOwned::Representation(text, _, _) => format!("{text:?}"),
        YamlDataOwned::Sequence(_) => "a list".to_owned(),
        YamlDataOwned::Mapping(_) => "a mapping".to_owned(),
        YamlDataOwned::Alias(_) => "an alias".to_owned(),
        YamlDataOwned::Tagged(_, _) | YamlDataOwned::BadValue => "an unreadable value".to_owned(),
    }
}

/// The known name within edit distance 2 of `name`, if any: typos are the usual
/// cause of an unknown field.
fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("count", "count"), 0);
        assert_eq!(edit_distance("cout", "count"), 1);
        assert_eq!(edit_distance("roels", "roles"), 2);
        assert_eq!(closest("nme", &["name", "count"]), Some("name"));
        assert_eq!(closest("zzzzzz", &["name", "count"]), None);
    }
}
