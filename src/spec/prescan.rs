//! A pass over the YAML event stream before any tree is built.
//!
//! saphyr's loader expands aliases while it builds the tree, so a few hundred
//! bytes of nested anchors can take gigabytes; it also lets a repeated key
//! silently replace the first, and it nests without bound (a record nested
//! deeper than serde_json's recursion limit could never be read back). This
//! pass sees each event once, keeps memory proportional to the file, and
//! refuses all three with the position of the offending text.

use std::collections::HashMap;
use std::path::Path;

use saphyr_parser::{Event, Marker, Parser, ScanError, Span};

use super::error::{SpecError, SpecLocation};

/// How deeply mappings and lists may nest in a spec, counting the document's
/// top-level mapping as level 1. A spec needs 4 levels; installer configs
/// rarely more than a handful. Stored records wrap the spec in a few more
/// levels and must stay far below serde_json's recursion limit of 128.
pub const MAX_NESTING: usize = 32;

/// After this many problems the pass stops: a file full of aliases would
/// otherwise produce an error per line.
const MAX_ERRORS: usize = 50;

const NO_ANCHORS: &str = "anchors and aliases are not supported in a spec; write the value out";

enum Frame {
    Sequence {
        path: String,
        next_index: usize,
    },
    Mapping {
        path: String,
        /// The next node is a key (not a value).
        expecting_key: bool,
        /// The key whose value comes next, for the value's path.
        current_key: String,
        /// Every scalar key seen so far, with where it was written.
        keys: HashMap<String, Marker>,
    },
}

/// What the pre-scan found; empty `errors` means the tree may be built.
pub struct Prescan {
    pub errors: Vec<SpecError>,
}

/// Scans `text`; a syntax error is returned as the YAML error the loader
/// would have given, together with the problems found before it.
pub fn prescan(text: &str, origin: &Path) -> Result<Prescan, (Vec<SpecError>, ScanError)> {
    let mut scan = Scan {
        origin,
        stack: Vec::new(),
        errors: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(next) => next,
            Err(error) => return Err((scan.errors, error)),
        };
        if !scan.event(&event, span) {
            break;
        }
        if scan.errors.len() >= MAX_ERRORS {
            scan.errors.push(SpecError::file(
                origin,
                format!(
                    "stopped looking after {MAX_ERRORS} problems; fix these and validate again"
                ),
            ));
            break;
        }
    }
    Ok(Prescan {
        errors: scan.errors,
    })
}

struct Scan<'o> {
    origin: &'o Path,
    stack: Vec<Frame>,
    errors: Vec<SpecError>,
}

impl Scan<'_> {
    /// Handles one event; `false` stops the scan (nesting too deep: what
    /// follows would only repeat the error).
    fn event(&mut self, event: &Event<'_>, span: Span) -> bool {
        match event {
            Event::Scalar(value, _, anchor, _) => {
                let path = self.node_path();
                self.check_anchor(*anchor, span.start, &path);
                self.scalar(value, span.start, &path);
            }
            Event::Alias(_) => {
                let path = self.node_path();
                self.error(span.start, &path, NO_ANCHORS.to_owned());
                self.advance_parent();
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let path = self.node_path();
                self.check_anchor(*anchor, span.start, &path);
                self.advance_parent();
                if self.stack.len() >= MAX_NESTING {
                    self.error(
                        span.start,
                        &path,
                        format!(
                            "mappings and lists nest more than {MAX_NESTING} levels deep here; a spec may nest at most {MAX_NESTING}"
                        ),
                    );
                    return false;
                }
                self.stack
                    .push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Sequence {
                            path,
                            next_index: 0,
                        }
                    } else {
                        Frame::Mapping {
                            path,
                            expecting_key: true,
                            current_key: String::new(),
                            keys: HashMap::new(),
                        }
                    });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
            }
            Event::DocumentStart(_) => self.stack.clear(),
            _ => {}
        }
        true
    }

    /// The field path of the node that starts now.
    fn node_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Sequence { path, next_index }) => format!("{path}[{next_index}]"),
            Some(Frame::Mapping {
                path,
                expecting_key: true,
                ..
            }) => path.clone(),
            Some(Frame::Mapping {
                path, current_key, ..
            }) => join(path, current_key),
        }
    }

    /// A scalar is a key (checked for repeats) or a value.
    fn scalar(&mut self, value: &str, at: Marker, path: &str) {
        let mut repeated = None;
        if let Some(Frame::Mapping {
            expecting_key: true,
            keys,
            current_key,
            ..
        }) = self.stack.last_mut()
        {
            if let Some(first) = keys.get(value) {
                repeated = Some(*first);
            } else {
                keys.insert(value.to_owned(), at);
            }
            value.clone_into(current_key);
        }
        if let Some(first) = repeated {
            let field = join(path, value);
            self.error(
                at,
                &field,
                format!(
                    "`{value}` is given twice in the same mapping: at line {}, column {} and again here at line {}, column {}; remove one",
                    first.line(),
                    first.col() + 1,
                    at.line(),
                    at.col() + 1
                ),
            );
        }
        self.advance_parent();
    }

    /// Moves the enclosing collection on to its next key, value or item.
    fn advance_parent(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Sequence { next_index, .. }) => *next_index += 1,
            Some(Frame::Mapping { expecting_key, .. }) => *expecting_key = !*expecting_key,
            None => {}
        }
    }

    fn check_anchor(&mut self, anchor: usize, at: Marker, path: &str) {
        if anchor != 0 {
            self.error(at, path, NO_ANCHORS.to_owned());
        }
    }

    fn error(&mut self, at: Marker, path: &str, message: String) {
        self.errors.push(SpecError::at(
            SpecLocation {
                file: self.origin.to_path_buf(),
                line: at.line(),
                column: at.col() + 1,
            },
            path,
            message,
        ));
    }
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match prescan(text, Path::new("c.yaml")) {
            Ok(found) => found.errors.iter().map(ToString::to_string).collect(),
            Err((_, error)) => panic!("syntax error: {error}"),
        }
    }

    #[test]
    fn repeated_keys_name_both_positions_at_any_depth() {
        assert_eq!(
            problems("name: x\nname: y\n"),
            vec![
                "c.yaml:2:1: name: `name` is given twice in the same mapping: at line 1, column 1 and again here at line 2, column 1; remove one"
            ]
        );
        let nested = "node_groups:\n  - name: a\n    count: 1\n    count: 2\ninstall:\n  from: a\n  from: b\n";
        let found = problems(nested);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].starts_with("c.yaml:4:5: node_groups[0].count: `count` is given twice")
                && found[0].contains("line 3, column 5"),
            "{found:#?}"
        );
        assert!(
            found[1].starts_with("c.yaml:7:3: install.from:")
                && found[1].contains("line 6, column 3"),
            "{found:#?}"
        );
        // The same key in different mappings, or as a value, is fine.
        assert!(problems("a: {x: 1}\nb: {x: 1}\nc: [x, x]\nd: d\n").is_empty());
        // Quoting does not make a key different.
        assert_eq!(problems("name: x\n\"name\": y\n").len(), 1);
    }

    #[test]
    fn anchors_and_aliases_are_refused_without_expanding_them() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for level in 1..=30 {
            let prev = level - 1;
            bomb.push_str(&format!(
                "a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let found = problems(&bomb);
        assert_eq!(found.len(), MAX_ERRORS + 1, "stops after {MAX_ERRORS}");
        assert!(
            found[MAX_ERRORS]
                .ends_with("stopped looking after 50 problems; fix these and validate again")
        );
        assert!(
            found[0].starts_with("c.yaml:1:9: a0: anchors and aliases"),
            "{found:?}"
        );
        assert!(found[1].starts_with("c.yaml:2:9: a1: anchors"), "{found:?}");
        assert!(
            found[2].starts_with("c.yaml:2:10: a1[0]: anchors"),
            "{found:?}"
        );
        let scalar = problems("x: &v 1\ny: *v\n");
        assert_eq!(scalar.len(), 2, "{scalar:?}");
        assert!(
            scalar[1].starts_with("c.yaml:2:4: y: anchors"),
            "{scalar:?}"
        );
    }

    #[test]
    fn nesting_is_limited_and_the_limit_is_reported_where_it_is_crossed() {
        let within = format!("{}1{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert!(problems(&within).is_empty());
        let beyond = format!(
            "{}1{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        let found = problems(&beyond);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(&format!("c.yaml:1:{}: ", MAX_NESTING + 1)),
            "{found:?}"
        );
        assert!(found[0].contains("nest more than 32 levels"), "{found:?}");
        // Block mappings count the same way, and the path says where.
        let mut block = String::new();
        for level in 0..=MAX_NESTING {
            block.push_str(&"  ".repeat(level));
            block.push_str(&format!("k{level}:\n"));
        }
        let found = problems(&block);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains(": k0.k1.k2."), "{found:?}");
    }
}
