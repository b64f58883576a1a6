//! Spec errors that point at the place in the file a user has to fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a spec file, 1-based like editors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecLocation {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

/// One problem in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Where the problem is; `None` only when the file itself is the problem.
    pub location: Option<SpecLocation>,
    pub file: PathBuf,
    /// The field path such as `node_groups[1].count`; empty for the document.
    pub field: String,
    pub message: String,
}

impl SpecError {
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            location: None,
            file: file.to_path_buf(),
            field: String::new(),
            message: message.into(),
        }
    }

    pub fn at(location: SpecLocation, field: &str, message: impl Into<String>) -> Self {
        Self {
            file: location.file.clone(),
            location: Some(location),
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(at) => write!(f, "{}:{}:{}: ", at.file.display(), at.line, at.column)?,
            None => write!(f, "{}: ", self.file.display())?,
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one spec file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    pub fn single(error: SpecError) -> Self {
        Self(vec![error])
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}
