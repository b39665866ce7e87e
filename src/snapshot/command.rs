//! The snapshot commands (`slatenfs snapshot create|list|delete`): parsed from the command
//! line or from the admin channel's one request line, run against a catalog, answered with
//! the text the user sees. The same code runs in the server (over the admin channel) and in
//! the command itself when no server runs.
use std::fmt::Write as _;

use super::catalog::{SnapshotCatalog, SnapshotError, SnapshotKind};
use super::name::SnapshotName;

/// One snapshot command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotCommand {
    Create(SnapshotName),
    List,
    /// The name as given: deleting a name that is not valid finds nothing, with the same
    /// message as any other missing one.
    Delete(String),
}

impl SnapshotCommand {
    /// The command as one line of the admin channel.
    pub fn to_line(&self) -> String {
        match self {
            SnapshotCommand::Create(n) => format!("snapshot create {n}"),
            SnapshotCommand::List => "snapshot list".into(),
            SnapshotCommand::Delete(n) => format!("snapshot delete {n}"),
        }
    }

    /// Parses one admin-channel line.
    pub fn parse_line(line: &str) -> Result<SnapshotCommand, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["snapshot", "create", name] => Ok(SnapshotCommand::Create(SnapshotName::parse(name)?)),
            ["snapshot", "list"] => Ok(SnapshotCommand::List),
            ["snapshot", "delete", name] => Ok(SnapshotCommand::Delete(name.to_string())),
            _ => Err(format!("unknown admin request {line:?}")),
        }
    }

    /// Whether it changes the list of snapshots.
    pub fn changes(&self) -> bool {
        !matches!(self, SnapshotCommand::List)
    }
}

/// Runs `command` against `catalog`; the text to print on success.
pub async fn execute(
    catalog: &SnapshotCatalog,
    command: &SnapshotCommand,
) -> Result<String, SnapshotError> {
    match command {
        SnapshotCommand::Create(name) => {
            let started = std::time::Instant::now();
            let s = catalog.create(name, SnapshotKind::Manual).await?;
            Ok(format!(
                "created snapshot {} (id {}) at {} in {} ms\n",
                s.name,
                s.id,
                humantime::format_rfc3339_seconds(s.created),
                started.elapsed().as_millis()
            ))
        }
        SnapshotCommand::Delete(name) => {
            let s = catalog.delete(name).await?;
            Ok(format!("deleted snapshot {} (id {})\n", s.name, s.id))
        }
        SnapshotCommand::List => {
            let list = catalog.list().await?;
            let sizes = catalog.exclusive_bytes(&list).await?;
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{:<24} {:<36} {:<20} {:<6} {:>14}",
                "NAME", "ID", "CREATED (UTC)", "KIND", "EXCLUSIVE"
            );
            for (s, bytes) in list.iter().zip(sizes) {
                let _ = writeln!(
                    out,
                    "{:<24} {:<36} {:<20} {:<6} {:>14}",
                    s.name.as_str(),
                    s.id,
                    humantime::format_rfc3339_seconds(s.created),
                    match s.kind {
                        SnapshotKind::Manual => "manual",
                        SnapshotKind::Automatic => "auto",
                    },
                    human_bytes(bytes)
                );
            }
            Ok(out)
        }
    }
}

/// `bytes` in the largest binary unit that keeps it at least 1.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for c in [
            SnapshotCommand::Create(SnapshotName::parse("a-1").unwrap()),
            SnapshotCommand::List,
            SnapshotCommand::Delete("x".into()),
        ] {
            assert_eq!(SnapshotCommand::parse_line(&c.to_line()).unwrap(), c);
        }
        assert!(SnapshotCommand::parse_line("snapshot create a/b").is_err());
        assert!(SnapshotCommand::parse_line("snapshot").is_err());
        assert!(SnapshotCommand::parse_line("rm -rf /").is_err());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
    }
}
