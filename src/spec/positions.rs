//! Where each element of a spec is in its file, so that checks which run
//! after parsing (validators) can point at the element they are about.

use std::collections::BTreeMap;

use super::error::SpecLocation;
use crate::model::SourceLocation;

/// The location of every element of a parsed spec, by field path as spec
/// errors name it (`backend.options.root`, `node_groups[1].name`,
/// `checks.debuggers[0].roles[0]`). Empty for a spec not read from a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecPositions {
    by_path: BTreeMap<String, SpecLocation>,
}

impl SpecPositions {
    pub(super) fn new(by_path: BTreeMap<String, SpecLocation>) -> Self {
        Self { by_path }
    }

    /// The location of exactly this element.
    pub fn get(&self, field: &str) -> Option<&SpecLocation> {
        self.by_path.get(field)
    }

    /// The location of the element, or of its nearest enclosing one that is
    /// in the file: a finding about an option left unset points at the
    /// mapping it belongs in, and `roles[0]` at `roles: x` written as one name.
    pub fn nearest(&self, field: &str) -> Option<&SpecLocation> {
        let mut path = field;
        loop {
            if let Some(location) = self.by_path.get(path) {
                return Some(location);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
            if path.is_empty() {
                return None;
            }
        }
    }

    /// [`Self::nearest`] as the model's plain location type.
    pub fn source_location(&self, field: &str) -> Option<SourceLocation> {
        self.nearest(field).map(|at| SourceLocation {
            file: at.file.display().to_string(),
            line: at.line,
            column: at.column,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::decode::decode_with_positions;

    #[test]
    fn every_element_has_its_place_and_a_missing_one_falls_back_to_its_parent() {
        let text = "name: demo\nbackend:\n  kind: mars\n  options: { rooot: /x }\nnode_groups:\n  - { name: a, count: 1, roles: [r] }\n  - name: a\n    count: 0\nchecks:\n  debuggers:\n    - { name: d, roles: agnet, run: \"true\" }\n";
        let (_, positions) = decode_with_positions(text, Path::new("s.yaml")).expect("parses");
        let at = |field: &str| {
            positions
                .nearest(field)
                .map(|at| (at.line, at.column))
                .unwrap_or_default()
        };
        assert_eq!(at("backend.kind"), (3, 9));
        assert_eq!(at("backend.options.rooot"), (4, 21));
        assert_eq!(at("node_groups[0].roles[0]"), (6, 34));
        assert_eq!(at("node_groups[1].name"), (7, 11));
        assert_eq!(at("node_groups[1].count"), (8, 12));
        assert_eq!(at("node_groups[1].options.hosts"), (7, 5));
        assert_eq!(at("checks.debuggers[0].roles[0]"), (11, 25));
        assert_eq!(positions.get("node_groups[1].options"), None);
        assert_eq!(at("nowhere"), (0, 0));
        let location = positions.source_location("backend.kind").expect("located");
        assert_eq!(location.to_string(), "s.yaml:3:9");
    }
}
