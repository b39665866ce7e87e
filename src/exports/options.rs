//! What a rule grants a client: read-only or read-write, whose identity its calls run under
//! (squashing), and whether it must call from a privileged port.
use crate::fs::Credentials;
use crate::proto::auth::Credential;

/// Whose identity a client's calls run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Squash {
    /// As sent (`no_root_squash`).
    None,
    /// uid 0 and gid 0 become the anonymous ids (`root_squash`, the default).
    Root,
    /// Every caller becomes the anonymous user, without supplementary groups (`all_squash`).
    All,
}

/// The options of one client of one export (exports(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// `ro` (the default, as in knfsd) or `rw`.
    pub read_only: bool,
    pub squash: Squash,
    /// `anonuid=N`: the uid of squashed and AUTH_NONE callers.
    pub anon_uid: u32,
    /// `anongid=N`: the gid of squashed and AUTH_NONE callers.
    pub anon_gid: u32,
    /// `secure` (the default): calls must come from a source port below 1024.
    pub secure: bool,
}

impl ExportOptions {
    /// knfsd's defaults (`ro,root_squash,secure`) with the server's anonymous ids.
    pub fn defaults(anon_uid: u32, anon_gid: u32) -> Self {
        ExportOptions {
            read_only: true,
            squash: Squash::Root,
            anon_uid,
            anon_gid,
            secure: true,
        }
    }

    /// What a server with no rules grants loopback clients: `rw,no_root_squash,insecure`.
    pub fn loopback_without_rules(anon_uid: u32, anon_gid: u32) -> Self {
        ExportOptions {
            read_only: false,
            squash: Squash::None,
            secure: false,
            ..Self::defaults(anon_uid, anon_gid)
        }
    }

    /// Whether a call from source port `port` is acceptable.
    pub fn port_allowed(&self, port: u16) -> bool {
        !self.secure || port < 1024
    }

    /// The identity a call with credential `cred` runs under, squashed as the options say, as
    /// Linux's `nfsd_setuser` does: AUTH_NONE is the anonymous user; `all_squash` makes every
    /// caller anonymous with no supplementary groups; `root_squash` maps uid 0 to `anon_uid`
    /// and gid 0 (primary or supplementary) to `anon_gid`.
    pub fn credentials(&self, cred: &Credential) -> Credentials {
        let anonymous = Credentials::new(self.anon_uid, self.anon_gid);
        let sys = match cred {
            Credential::Sys(s) => s,
            Credential::None => return anonymous,
        };
        match self.squash {
            Squash::None => Credentials::with_groups(sys.uid, sys.gid, &sys.gids),
            Squash::All => anonymous,
            Squash::Root => {
                let gid = |g: u32| if g == 0 { self.anon_gid } else { g };
                let uid = if sys.uid == 0 { self.anon_uid } else { sys.uid };
                let gids: Vec<u32> = sys.gids.iter().map(|&g| gid(g)).collect();
                Credentials::with_groups(uid, gid(sys.gid), &gids)
            }
        }
    }

    /// The options as exports(5) writes them, for logs and `showmount -e`-like listings.
    pub fn describe(&self) -> String {
        let squash = match self.squash {
            Squash::None => "no_root_squash",
            Squash::Root => "root_squash",
            Squash::All => "all_squash",
        };
        format!(
            "{},{squash},anonuid={},anongid={},{}",
            if self.read_only { "ro" } else { "rw" },
            self.anon_uid,
            self.anon_gid,
            if self.secure { "secure" } else { "insecure" }
        )
    }
}

/// knfsd options that slatenfs refuses, with the reason the error line gives.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("async", "per-export async is not supported: remove it (the server-wide --async flag replies to metadata operations before they are durable)"),
    ("subtree_check", "subtree checking is not supported: remove it (handles are authenticated, so a client cannot forge one outside what it was given)"),
    ("fsid", "the filesystem id comes from the store: remove fsid="),
    ("sec", "only AUTH_SYS is supported: remove sec= or write sec=sys"),
    ("mountpoint", "there is only one filesystem, always mounted: remove it"),
    ("mp", "there is only one filesystem, always mounted: remove it"),
    ("nordirplus", "READDIRPLUS cannot be turned off: remove it"),
    ("secure_locks", "lock requests (NLM) are checked against the export's client list, not against the caller's permissions on the file: remove it, or write insecure_locks"),
    ("auth_nlm", "lock requests (NLM) are checked against the export's client list, not against the caller's permissions on the file: remove it, or write no_auth_nlm"),
    ("pnfs", "pNFS is an NFSv4 feature: remove it"),
    ("no_pnfs", "pNFS is an NFSv4 feature: remove it"),
    ("refer", "referrals are an NFSv4 feature: remove it"),
    ("replicas", "replicas are an NFSv4 feature: remove it"),
    ("security_label", "security labels are an NFSv4 feature: remove it"),
    ("root", "root= is not supported: remove it"),
];

/// knfsd options that describe what slatenfs always does, accepted so that existing
/// /etc/exports lines work as they are.
const ALWAYS_SO: &[&str] = &[
    "sync",
    "no_subtree_check",
    "wdelay",
    "no_wdelay",
    "hide",
    "nohide",
    "crossmnt",
    "no_acl",
    "acl",
    "sec=sys",
    // What the lock manager does: a lock request needs a handle of an export that admits the
    // calling host, and no more.
    "insecure_locks",
    "no_auth_nlm",
];

/// The options every rule may use, for the error line about an unknown one.
pub const KNOWN_OPTIONS: &str =
    "rw, ro, root_squash, no_root_squash, all_squash, no_all_squash, anonuid=N, anongid=N, secure, insecure";

/// Applies a comma-separated option list (later options win, as in knfsd) to `opts`.
/// The error is the rest of an error line: what is wrong and how to fix it.
pub fn apply_option_list(list: &str, opts: &mut ExportOptions) -> Result<(), String> {
    for option in list.split(',').map(str::trim) {
        apply_option(option, opts)?;
    }
    Ok(())
}

fn apply_option(option: &str, opts: &mut ExportOptions) -> Result<(), String> {
    let id = |value: &str| {
        value.parse::<u32>().map_err(|_| {
            format!("{option:?} needs a numeric id: write e.g. anonuid=65534 or anongid=65534")
        })
    };
    match option {
        "" => return Err("an empty option (two commas, or a comma at an end): remove it".into()),
        "rw" => opts.read_only = false,
        "ro" => opts.read_only = true,
        "root_squash" => opts.squash = Squash::Root,
        "no_root_squash" => opts.squash = Squash::None,
        "all_squash" => opts.squash = Squash::All,
        // knfsd: no_all_squash turns all_squash off, leaving root squashed.
        "no_all_squash" => {
            if opts.squash == Squash::All {
                opts.squash = Squash::Root;
            }
        }
        "secure" => opts.secure = true,
        "insecure" => opts.secure = false,
        _ if ALWAYS_SO.contains(&option) => {}
        _ => {
            if let Some(v) = option.strip_prefix("anonuid=") {
                opts.anon_uid = id(v)?;
            } else if let Some(v) = option.strip_prefix("anongid=") {
                opts.anon_gid = id(v)?;
            } else {
                let name = option.split('=').next().unwrap_or(option);
                return Err(match UNSUPPORTED.iter().find(|(n, _)| *n == name) {
                    Some((_, why)) => format!("option {option:?}: {why}"),
                    None => format!("unknown option {option:?}: the options are {KNOWN_OPTIONS}"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::auth::AuthSys;
    use smallvec::SmallVec;

    fn sys(uid: u32, gid: u32, gids: &[u32]) -> Credential {
        Credential::Sys(AuthSys {
            stamp: 0,
            machinename: SmallVec::new(),
            uid,
            gid,
            gids: SmallVec::from_slice(gids),
        })
    }

    fn with(list: &str) -> Result<ExportOptions, String> {
        let mut o = ExportOptions::defaults(65534, 65533);
        apply_option_list(list, &mut o).map(|()| o)
    }

    #[test]
    fn defaults_are_knfsd_s_and_later_options_win() {
        let d = ExportOptions::defaults(65534, 65533);
        assert!(d.read_only && d.secure);
        assert_eq!(d.squash, Squash::Root);
        let o = with("rw,no_root_squash,insecure,anonuid=7,anongid=8").unwrap();
        assert!(!o.read_only && !o.secure);
        assert_eq!((o.squash, o.anon_uid, o.anon_gid), (Squash::None, 7, 8));
        assert!(with("rw,ro").unwrap().read_only);
        assert_eq!(
            with("all_squash,no_all_squash").unwrap().squash,
            Squash::Root
        );
        assert_eq!(
            with("no_root_squash,no_all_squash").unwrap().squash,
            Squash::None
        );
        // Options that describe what slatenfs always does are accepted.
        assert_eq!(
            with("rw,sync,no_subtree_check,sec=sys").unwrap(),
            with("rw").unwrap()
        );
    }

    #[test]
    fn bad_options_say_what_to_write() {
        let e = with("rw,rx").unwrap_err();
        assert!(
            e.contains("unknown option \"rx\"") && e.contains(KNOWN_OPTIONS),
            "{e}"
        );
        let e = with("rw,async").unwrap_err();
        assert!(e.contains("--async"), "{e}");
        assert!(with("fsid=0").unwrap_err().contains("fsid"));
        assert!(with("sec=krb5").unwrap_err().contains("AUTH_SYS"));
        assert!(with("anonuid=-2").unwrap_err().contains("numeric id"));
        assert!(with("anonuid=").unwrap_err().contains("numeric id"));
        assert!(with("rw,,ro").unwrap_err().contains("empty option"));
    }

    #[test]
    fn squashing_follows_nfsd_setuser() {
        let none = with("no_root_squash").unwrap();
        let root = with("root_squash").unwrap();
        let all = with("all_squash,anonuid=99,anongid=98").unwrap();
        let caller = sys(0, 0, &[0, 5]);
        assert_eq!(
            none.credentials(&caller),
            Credentials::with_groups(0, 0, &[0, 5])
        );
        assert_eq!(
            root.credentials(&caller),
            Credentials::with_groups(65534, 65533, &[65533, 5])
        );
        assert_eq!(all.credentials(&caller), Credentials::new(99, 98));
        // root_squash leaves other users alone, except for a gid 0 they claim.
        assert_eq!(
            root.credentials(&sys(1000, 1000, &[7])),
            Credentials::with_groups(1000, 1000, &[7])
        );
        assert_eq!(
            root.credentials(&sys(1000, 0, &[])),
            Credentials::new(1000, 65533)
        );
        assert_eq!(
            all.credentials(&sys(1000, 1000, &[7])),
            Credentials::new(99, 98)
        );
        // AUTH_NONE is the anonymous user whatever the squash mode.
        assert_eq!(
            none.credentials(&Credential::None),
            Credentials::new(65534, 65533)
        );
    }

    #[test]
    fn secure_needs_a_privileged_port() {
        let secure = with("secure").unwrap();
        assert!(secure.port_allowed(1023) && !secure.port_allowed(1024));
        assert!(with("insecure").unwrap().port_allowed(40000));
    }
}
