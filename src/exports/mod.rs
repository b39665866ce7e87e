//! Export rules: which clients may mount which directories, and with which options.
//!
//! Pure: rules in exports(5) syntax in ([`parse`]), an [`ExportTable`] out, and the questions
//! the NFS service asks of it on every call: which export a handle was issued under
//! ([`ExportTable::by_id`]), whether a peer is one of its clients and with which options
//! ([`Export::admit`]), and which export a MNT of a path falls under
//! ([`ExportTable::for_mount`]). Reading the rules file and swapping the live table (SIGHUP)
//! are the composition root's job; enforcing the options is the NFS service's.
//!
//! Which options apply to a call is fixed by the export the call's file handle was issued
//! under (its [`ExportId`] is in the handle, and every handle LOOKUP, CREATE or READDIRPLUS
//! returns inherits it), as knfsd does: a client granted `/` read-only and `/scratch`
//! read-write writes through handles from its `/scratch` mount only. Within one export, a
//! client that several client specifications match gets the options of the most specific kind
//! (a single address, then networks, then `*`: exports(5)'s order), the first of that kind on
//! the line.
pub mod options;
pub mod parse;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use sha2::{Digest, Sha256};

pub use options::{ExportOptions, Squash};
pub use parse::{parse_rule, parse_rules, Rule, RuleError};

/// The live table, swapped whole when the rules are reloaded; every call reads it lock-free.
pub type SharedExports = std::sync::Arc<arc_swap::ArcSwap<ExportTable>>;

/// Names an export inside file handles: derived from its path alone, so it is the same after a
/// restart or a reload that keeps the path exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExportId(pub u32);

impl ExportId {
    /// The id of the export of directory `path` (normalised): the first four bytes of its
    /// SHA-256, a stable value that needs no state.
    pub fn of_path(path: &str) -> ExportId {
        let digest = Sha256::digest(path.as_bytes());
        ExportId(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }
}

/// Who a client specification admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSpec {
    /// One address.
    Host(IpAddr),
    /// A network.
    Net(IpNet),
    /// Everyone.
    Any,
}

impl ClientSpec {
    fn admits(&self, peer: IpAddr) -> bool {
        match self {
            ClientSpec::Host(ip) => *ip == peer,
            ClientSpec::Net(net) => net.contains(&peer),
            ClientSpec::Any => true,
        }
    }

    /// exports(5)'s precedence: a single address, then networks, then everyone.
    fn rank(&self) -> u8 {
        match self {
            ClientSpec::Host(_) => 0,
            ClientSpec::Net(_) => 1,
            ClientSpec::Any => 2,
        }
    }
}

impl fmt::Display for ClientSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientSpec::Host(ip) => write!(f, "{ip}"),
            ClientSpec::Net(net) => write!(f, "{net}"),
            ClientSpec::Any => f.write_str("*"),
        }
    }
}

/// One exported directory and its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub id: ExportId,
    /// Normalised absolute path.
    pub path: String,
    pub clients: Vec<(ClientSpec, ExportOptions)>,
}

impl Export {
    /// The options `peer` gets, if it is one of this export's clients.
    pub fn admit(&self, peer: IpAddr) -> Option<&ExportOptions> {
        let peer = peer.to_canonical();
        self.clients
            .iter()
            .filter(|(spec, _)| spec.admits(peer))
            .min_by_key(|(spec, _)| spec.rank())
            .map(|(_, opts)| opts)
    }

    /// Whether `path` (normalised) is this export's directory or below it.
    fn covers(&self, path: &str) -> bool {
        self.path == "/"
            || path == self.path
            || path
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// The export rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTable {
    exports: Vec<Export>,
    /// Built without any rule: loopback clients only (see [`ExportTable::without_rules`]).
    implicit: bool,
}

/// Where the rules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSources {
    /// `--exports FILE` / `SLATENFS_EXPORTS`.
    pub file: Option<PathBuf>,
    /// `--export RULE`, in order.
    pub rules: Vec<String>,
}

impl RuleSources {
    /// Whether no rule was given at all (the table is then [`ExportTable::without_rules`]).
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.rules.is_empty()
    }
}

/// Why the rules cannot be loaded: one line naming the rule (or file) and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportsError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("--exports {path}: {reason} (point --exports or SLATENFS_EXPORTS at a readable file of export rules)")]
    File { path: String, reason: String },
    #[error(
        "{second}: {path} is exported twice (also by {first}): merge the clients into one rule"
    )]
    Duplicate {
        path: String,
        first: String,
        second: String,
    },
    #[error("{second}: the exports {path} and {other} ({first}) get the same handle id: rename one of the directories")]
    IdCollision {
        path: String,
        other: String,
        first: String,
        second: String,
    },
}

impl ExportTable {
    /// What a server with no rules serves: `/` to loopback clients only, read-write, root not
    /// squashed, any port (the behaviour of a development server before rules existed).
    pub fn without_rules(anon_uid: u32, anon_gid: u32) -> ExportTable {
        let opts = ExportOptions::loopback_without_rules(anon_uid, anon_gid);
        let loopback_v4 = IpNet::new(IpAddr::from([127, 0, 0, 0]), 8).map(ClientSpec::Net);
        let mut clients = vec![(
            ClientSpec::Host(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])),
            opts,
        )];
        if let Ok(v4) = loopback_v4 {
            clients.insert(0, (v4, opts));
        }
        ExportTable {
            exports: vec![Export {
                id: ExportId::of_path("/"),
                path: "/".into(),
                clients,
            }],
            implicit: true,
        }
    }

    /// The table of `rules` (duplicates refused).
    pub fn from_rules(rules: Vec<Rule>) -> Result<ExportTable, ExportsError> {
        let mut exports: Vec<(Export, String)> = Vec::with_capacity(rules.len());
        for rule in rules {
            let id = ExportId::of_path(&rule.path);
            if let Some((e, first)) = exports.iter().find(|(e, _)| e.path == rule.path) {
                return Err(ExportsError::Duplicate {
                    path: e.path.clone(),
                    first: first.clone(),
                    second: rule.origin,
                });
            }
            if let Some((e, first)) = exports.iter().find(|(e, _)| e.id == id) {
                return Err(ExportsError::IdCollision {
                    path: rule.path,
                    other: e.path.clone(),
                    first: first.clone(),
                    second: rule.origin,
                });
            }
            exports.push((
                Export {
                    id,
                    path: rule.path,
                    clients: rule.clients,
                },
                rule.origin,
            ));
        }
        Ok(ExportTable {
            exports: exports.into_iter().map(|(e, _)| e).collect(),
            implicit: false,
        })
    }

    /// Reads and parses every rule of `sources` (the file first, then the `--export` rules);
    /// with none, [`ExportTable::without_rules`].
    pub fn load(
        sources: &RuleSources,
        anon_uid: u32,
        anon_gid: u32,
    ) -> Result<ExportTable, ExportsError> {
        if sources.is_empty() {
            return Ok(ExportTable::without_rules(anon_uid, anon_gid));
        }
        let defaults = ExportOptions::defaults(anon_uid, anon_gid);
        let mut rules = Vec::new();
        if let Some(path) = &sources.file {
            let text = read_rules_file(path)?;
            rules.extend(parse_rules(&text, &path.display().to_string(), defaults)?);
        }
        for rule in &sources.rules {
            rules.extend(parse_rule(rule, "--export", defaults)?);
        }
        ExportTable::from_rules(rules)
    }

    /// The exports, in the order of the rules.
    pub fn exports(&self) -> &[Export] {
        &self.exports
    }

    /// Whether this is the table of a server without rules.
    pub fn is_implicit(&self) -> bool {
        self.implicit
    }

    /// The export a file handle was issued under, if it is still exported.
    pub fn by_id(&self, id: ExportId) -> Option<&Export> {
        self.exports.iter().find(|e| e.id == id)
    }

    /// The export a MNT of `path` from `peer` falls under: of the exports whose directory is
    /// `path` or above it, the deepest that admits `peer`. `None`: no rule grants it.
    pub fn for_mount(&self, path: &str, peer: IpAddr) -> Option<(&Export, &ExportOptions)> {
        self.exports
            .iter()
            .filter(|e| e.covers(path))
            .filter_map(|e| e.admit(peer).map(|o| (e, o)))
            .max_by_key(|(e, _)| e.path.len())
    }
}

fn read_rules_file(path: &Path) -> Result<String, ExportsError> {
    std::fs::read_to_string(path).map_err(|e| ExportsError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// `path` as export paths are written: absolute, no `.` or empty components, no trailing
/// slash. `None` for a path with `..` (MNT refuses it).
pub fn normalise_mount_path(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return None;
        }
        parts.push(part);
    }
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(lines: &[&str]) -> ExportTable {
        let d = ExportOptions::defaults(65534, 65534);
        let rules = lines
            .iter()
            .map(|l| parse_rule(l, "--export", d).unwrap().unwrap())
            .collect();
        ExportTable::from_rules(rules).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_most_specific_client_kind_wins_then_line_order() {
        let t = table(&["/ *(ro) 10.0.0.0/8(rw,insecure) 10.1.0.0/16(ro) 10.1.2.3(rw,all_squash)"]);
        let e = &t.exports()[0];
        let host = e.admit(ip("10.1.2.3")).unwrap();
        assert_eq!((host.read_only, host.squash), (false, Squash::All));
        // Two networks match: the first on the line.
        let net = e.admit(ip("10.1.9.9")).unwrap();
        assert!(!net.read_only && !net.secure);
        assert!(e.admit(ip("192.168.0.1")).unwrap().read_only);
        assert!(e.admit(ip("::ffff:10.1.2.3")).unwrap().squash == Squash::All);
    }

    #[test]
    fn mounts_fall_under_the_deepest_export_that_admits_the_peer() {
        let t = table(&[
            "/ 10.0.0.0/8(ro)",
            "/projects 10.0.0.0/8(rw) 192.168.0.7(rw)",
            "/projects/secret 10.0.0.5(rw)",
        ]);
        let at = |path: &str, peer: &str| t.for_mount(path, ip(peer)).map(|(e, _)| e.path.clone());
        assert_eq!(
            at("/projects/a/b", "10.0.0.9").as_deref(),
            Some("/projects")
        );
        assert_eq!(
            at("/projects/secret", "10.0.0.5").as_deref(),
            Some("/projects/secret")
        );
        // Not a client of /projects/secret: what it may reach through /projects applies.
        assert_eq!(
            at("/projects/secret", "10.0.0.9").as_deref(),
            Some("/projects")
        );
        assert_eq!(at("/projectsX", "10.0.0.9").as_deref(), Some("/"));
        assert_eq!(at("/other", "192.168.0.7"), None);
        assert_eq!(
            at("/projects/x", "192.168.0.7").as_deref(),
            Some("/projects")
        );
        assert_eq!(at("/", "172.16.0.1"), None);
    }

    #[test]
    fn no_rules_means_loopback_only_read_write() {
        let t = ExportTable::without_rules(65534, 65534);
        assert!(t.is_implicit());
        let (e, o) = t.for_mount("/any/where", ip("127.0.0.1")).unwrap();
        assert_eq!(e.id, ExportId::of_path("/"));
        assert!(!o.read_only && !o.secure && o.squash == Squash::None);
        assert!(t.for_mount("/", ip("::1")).is_some());
        assert!(t.for_mount("/", ip("127.3.4.5")).is_some());
        assert!(t.for_mount("/", ip("10.0.0.1")).is_none());
        assert_eq!(
            ExportTable::load(&RuleSources::default(), 65534, 65534).unwrap(),
            t
        );
    }

    #[test]
    fn ids_are_stable_and_duplicates_refused() {
        assert_eq!(ExportId::of_path("/a"), ExportId::of_path("/a"));
        assert_ne!(ExportId::of_path("/a"), ExportId::of_path("/b"));
        let t = table(&["/a *(ro)", "/b *(ro)"]);
        assert_eq!(t.by_id(ExportId::of_path("/b")).unwrap().path, "/b");
        assert!(t.by_id(ExportId::of_path("/c")).is_none());
        let d = ExportOptions::defaults(65534, 65534);
        let rules = vec![
            parse_rule("/a *(ro)", "--export", d).unwrap().unwrap(),
            parse_rule("/a/ 10.0.0.1(rw)", "x line 2", d)
                .unwrap()
                .unwrap(),
        ];
        let e = ExportTable::from_rules(rules).unwrap_err().to_string();
        assert!(
            e.starts_with("x line 2: /a is exported twice (also by --export)"),
            "{e}"
        );
    }

    #[test]
    fn loading_names_the_file_and_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("exports");
        std::fs::write(&file, "/ 10.0.0.0/8(rw)\n/b 10.0.0.0/8(rx)\n").unwrap();
        let sources = RuleSources {
            file: Some(file.clone()),
            rules: vec!["/c 127.0.0.1(rw)".into()],
        };
        let e = ExportTable::load(&sources, 1, 1).unwrap_err().to_string();
        assert!(
            e.contains("exports line 2: export rule \"/b 10.0.0.0/8(rx)\""),
            "{e}"
        );
        std::fs::write(&file, "/ 10.0.0.0/8(rw)\n").unwrap();
        let t = ExportTable::load(&sources, 1, 1).unwrap();
        assert_eq!(t.exports().len(), 2);
        assert!(!t.is_implicit());
        let missing = RuleSources {
            file: Some(dir.path().join("nope")),
            rules: vec![],
        };
        let e = ExportTable::load(&missing, 1, 1).unwrap_err().to_string();
        assert!(
            e.starts_with("--exports ") && e.contains("SLATENFS_EXPORTS"),
            "{e}"
        );
    }

    #[test]
    fn mount_paths_normalise() {
        assert_eq!(normalise_mount_path("//a/./b/").as_deref(), Some("/a/b"));
        assert_eq!(normalise_mount_path("/").as_deref(), Some("/"));
        assert_eq!(normalise_mount_path("/a/../b"), None);
        assert_eq!(normalise_mount_path("a"), None);
    }
}
