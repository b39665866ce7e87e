//! [`SnapshotName`]: what a user may call a snapshot.
use std::fmt;

/// Longest snapshot name.
pub const MAX_NAME_LEN: usize = 64;

/// A valid snapshot name: 1 to 64 of `A-Z a-z 0-9 . _ -`, and neither `.` nor `..` (it is a
/// directory name under `.snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotName(String);

impl SnapshotName {
    /// Checks `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<SnapshotName, String> {
        if text.is_empty() || text.len() > MAX_NAME_LEN {
            return Err(format!(
                "snapshot name {text:?}: must be 1 to {MAX_NAME_LEN} characters"
            ));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "snapshot name {text:?}: {bad:?} is not allowed (use A-Z a-z 0-9 . _ -)"
            ));
        }
        if text == "." || text == ".." {
            return Err(format!("snapshot name {text:?} is reserved"));
        }
        Ok(SnapshotName(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for ok in ["a", "nightly-2026.12.03_1", &"x".repeat(64), "...", "-a"] {
            assert_eq!(SnapshotName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn invalid_names() {
        for bad in [
            "",
            &"x".repeat(65),
            "a/b",
            "a b",
            "é",
            ".",
            "..",
            "a\0",
            "*",
        ] {
            assert!(SnapshotName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
