//! Server configuration: command-line flags over environment variables over defaults.
//!
//! Validation is pure (it takes the environment as a map) so every error path is unit-tested.
//! Each error is one line that names the flag or variable and shows a valid value, because that
//! line is all an operator sees when the service refuses to start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::exports::RuleSources;
use crate::server::{Limits, DEFAULT_MAX_CONNECTIONS};
use crate::snapshot::{self, schedule::SnapshotSchedule};
use crate::store::backend::DEFAULT_S3_RETRIES;
use crate::store::bridge::{DEFAULT_OBJECT_STORE_TIMEOUT, DEFAULT_READER_POLL, DEFAULT_WAIT_LIMIT};
use crate::store::fault::FaultSchedule;
use crate::store::simulated::StoreTiming;
use crate::store::{S3Settings, StorageUrl, StoreConfig};

/// Everything `slatenfs serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub storage: StorageUrl,
    pub s3: S3Settings,
    pub cache_dir: PathBuf,
    pub cache_size_gb: f64,
    pub cores: usize,
    /// Reply to metadata operations before they are durable (`--async`).
    pub async_metadata: bool,
    pub anon_uid: u32,
    pub anon_gid: u32,
    /// Where the export rules come from (read, and re-read on SIGHUP, by the app).
    pub exports: RuleSources,
    /// Connections, timeouts and reply memory.
    pub limits: Limits,
    /// Test hook: calls about this name panic (`--test-panic-on-name`, hidden).
    pub test_panic_on_name: Option<String>,
    /// Longest one object-store call may take (`--object-store-timeout`).
    pub object_store_timeout: Duration,
    /// Longest a client call waits for the object store before JUKEBOX (`--store-wait`).
    pub wait_limit: Duration,
    /// Object-store faults to inject (hidden `--inject-faults`; tests only).
    pub faults: Option<FaultSchedule>,
    /// Serve NLM and NSM (file locking); `--no-lock-manager` turns it off.
    pub lock_manager: bool,
    /// After a restart, only lock reclaims are granted for this long.
    pub grace_period: Duration,
    /// What to do about port 111, where clients look for the lock manager.
    pub rpcbind: RpcbindMode,
    /// Benchmarks only: make the object store take as long as S3 would (see
    /// [`crate::store::simulated`]).
    pub simulate_object_store: Option<StoreTiming>,
    /// Where to serve the Prometheus metrics (`--metrics-listen`; off when `None`).
    pub metrics_listen: Option<SocketAddr>,
    /// Automatic snapshots (`--snapshot-every`, `--snapshot-keep`; off when `None`).
    pub snapshot_schedule: Option<SnapshotSchedule>,
    /// Serve as a read-only replica following the storage's writer (`--read-only`).
    pub read_only: bool,
    /// How often a replica looks for the writer's new state (`--replica-poll`).
    pub replica_poll: Duration,
}

/// What `slatenfs serve` does about port 111 (`--rpcbind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcbindMode {
    /// Serve portmap/rpcbind on 111 when it can be bound, else register with the system's
    /// rpcbind, else warn.
    Auto,
    /// Serve portmap/rpcbind on 111 or fail to start.
    Own,
    /// Register with the system's rpcbind or fail to start.
    System,
    /// Neither: clients must be told where NLM is some other way.
    Off,
}

/// Default grace period: Linux's.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(45);

/// The raw inputs from the command line; `None` means "not given", so the environment applies.
#[derive(Debug, Clone, Default)]
pub struct ServeFlags {
    pub listen: Option<String>,
    pub storage: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub cache_size_gb: Option<String>,
    pub cores: Option<usize>,
    pub async_metadata: bool,
    pub anon_uid: Option<u32>,
    pub anon_gid: Option<u32>,
    /// `--exports FILE`.
    pub exports_file: Option<PathBuf>,
    /// `--export RULE`, repeated.
    pub export_rules: Vec<String>,
    pub max_connections: Option<usize>,
    /// Seconds.
    pub idle_timeout: Option<u64>,
    pub record_timeout: Option<u64>,
    pub write_timeout: Option<u64>,
    pub drain_timeout: Option<u64>,
    pub test_panic_on_name: Option<String>,
    pub object_store_timeout: Option<String>,
    pub object_store_retries: Option<String>,
    pub wait_limit: Option<String>,
    pub inject_faults: Option<String>,
    pub no_lock_manager: bool,
    pub grace_period: Option<String>,
    pub rpcbind: Option<String>,
    pub simulate_object_store: Option<String>,
    pub metrics_listen: Option<String>,
    pub snapshot_every: Option<String>,
    pub snapshot_keep: Option<String>,
    pub read_only: bool,
    pub replica_poll: Option<String>,
}

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("SLATEDB_CACHE_DIR is not set: set it (or --cache-dir) to a writable directory for the local cache, e.g. SLATEDB_CACHE_DIR=/var/cache/slatenfs")]
    MissingCacheDir,
    #[error("SLATEDB_CACHE_SIZE_GB is not set: set it (or --cache-size-gb) to a positive number of GiB, e.g. SLATEDB_CACHE_SIZE_GB=4")]
    MissingCacheSize,
    #[error("SLATEDB_CACHE_SIZE_GB must be a positive number of GiB, e.g. SLATEDB_CACHE_SIZE_GB=4 (got {0:?})")]
    BadCacheSize(String),
    #[error("--listen must be ADDR:PORT, e.g. --listen 127.0.0.1:2049 (got {0:?})")]
    BadListen(String),
    #[error(
        "--storage must be file:///absolute/path, s3://bucket[/prefix] or memory:// (got {0:?})"
    )]
    BadStorage(String),
    #[error("AWS_ALLOW_HTTP must be true or false (got {0:?})")]
    BadAllowHttp(String),
    #[error("AWS_ENDPOINT_URL must be an http:// or https:// URL, e.g. AWS_ENDPOINT_URL=http://127.0.0.1:9000 (got {0:?})")]
    BadEndpoint(String),
    #[error("--cores must be between 1 and {max} on this machine (got {got})")]
    BadCores { got: usize, max: usize },
    #[error("--listen {0} lets other machines connect, but no export rule says which may mount: add one, e.g. --export '/ 192.168.1.0/24(rw)', or --exports FILE (exports(5) syntax)")]
    NoExportRules(SocketAddr),
    #[error("--max-connections must be at least 1, e.g. --max-connections 1024 (got {0})")]
    BadMaxConnections(usize),
    #[error("{flag} must be a positive number of seconds, e.g. {flag} {example} (got {got})")]
    BadTimeout {
        flag: &'static str,
        example: u64,
        got: u64,
    },
    #[error("{name} must be a positive number of seconds, e.g. {example} (got {got:?})")]
    BadSeconds {
        /// The flag or variable the value came from.
        name: &'static str,
        example: String,
        got: String,
    },
    #[error("SLATENFS_OBJECT_STORE_RETRIES must be a whole number from 0 to 100, e.g. SLATENFS_OBJECT_STORE_RETRIES=3 (got {0:?})")]
    BadRetries(String),
    #[error("{name} must be a numeric id from 0 to 4294967295, e.g. {name}=65534 (got {got:?})")]
    BadId { name: &'static str, got: String },
    #[error("--inject-faults: {0}")]
    BadFaults(String),
    #[error(
        "--grace-period must be a whole number of seconds, e.g. --grace-period 45 (got {0:?})"
    )]
    BadGracePeriod(String),
    #[error("--rpcbind must be auto, own, system or off (got {0:?})")]
    BadRpcbind(String),
    #[error("--simulate-object-store must be a latency such as 20ms, or get=20ms,put=30ms,list=50ms,delete=20ms,bandwidth=80 (MB/s): {0}")]
    BadSimulation(String),
    #[error(
        "--metrics-listen must be ADDR:PORT, e.g. --metrics-listen 127.0.0.1:9100 (got {0:?})"
    )]
    BadMetricsListen(String),
    #[error(
        "--snapshot-every must be a duration of at least 1m, e.g. --snapshot-every 6h (got {0:?})"
    )]
    BadSnapshotEvery(String),
    #[error("--snapshot-keep must be a whole number from 1 to 10000, e.g. --snapshot-keep 24 (got {0:?})")]
    BadSnapshotKeep(String),
    #[error("--snapshot-keep needs --snapshot-every (how often to take them), e.g. --snapshot-every 6h --snapshot-keep 24")]
    SnapshotKeepWithoutEvery,
    #[error("--snapshot-every takes snapshots on the server that writes the storage, not on a read-only replica (which shows them under /.snapshot all the same)")]
    SnapshotsOnReplica,
    #[error("SLATENFS_READ_ONLY must be true or false, e.g. SLATENFS_READ_ONLY=true (got {0:?})")]
    BadReadOnly(String),
}

/// Default location of the embedded local-disk object store when no storage is configured.
pub const DEFAULT_LOCAL_DATA_DIR: &str = ".slatenfs/data";

impl ServeConfig {
    /// Builds the configuration from flags and an environment map (`std::env::vars()` in `main`).
    pub fn resolve(
        flags: ServeFlags,
        env: &HashMap<String, String>,
        cwd: &Path,
        available_cores: usize,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            env.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let cache_dir = flags
            .cache_dir
            .or_else(|| get("SLATEDB_CACHE_DIR").map(PathBuf::from))
            .ok_or(ConfigError::MissingCacheDir)?;
        let cache_dir = absolute(cwd, &cache_dir);

        let size_text = flags
            .cache_size_gb
            .or_else(|| get("SLATEDB_CACHE_SIZE_GB"))
            .ok_or(ConfigError::MissingCacheSize)?;
        let cache_size_gb = match size_text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => v,
            _ => return Err(ConfigError::BadCacheSize(size_text)),
        };

        let listen_text = flags.listen.unwrap_or_else(|| "127.0.0.1:2049".to_string());
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|_| ConfigError::BadListen(listen_text.clone()))?;

        let allow_http = match get("AWS_ALLOW_HTTP").as_deref() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
            Some(v) => return Err(ConfigError::BadAllowHttp(v.to_string())),
        };
        let endpoint = get("AWS_ENDPOINT_URL");
        if let Some(e) = &endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(ConfigError::BadEndpoint(e.clone()));
            }
        }
        let bucket = get("AWS_S3_BUCKET").unwrap_or_else(|| "slatedb".to_string());
        let s3 = S3Settings {
            endpoint: endpoint.clone(),
            region: Some(get("AWS_DEFAULT_REGION").unwrap_or_else(|| "us-east-1".to_string())),
            access_key: get("AWS_ACCESS_KEY_ID"),
            secret: get("AWS_SECRET_ACCESS_KEY"),
            allow_http,
            ..S3Settings::default()
        };

        // S3 is chosen by configuring it: an endpoint or credentials. Otherwise the embedded
        // local-disk store, so a newcomer needs nothing else.
        let storage_text = flags.storage.or_else(|| get("SLATENFS_STORAGE"));
        let storage = match storage_text {
            Some(text) => parse_storage(&text, cwd)?,
            None if s3.endpoint.is_some() || s3.access_key.is_some() => StorageUrl::S3 {
                bucket,
                prefix: String::new(),
            },
            None => StorageUrl::File(absolute(cwd, Path::new(DEFAULT_LOCAL_DATA_DIR))),
        };

        let cores = flags.cores.unwrap_or(available_cores).max(1);
        if flags
            .cores
            .is_some_and(|c| c == 0 || c > available_cores.max(1) * 4)
        {
            return Err(ConfigError::BadCores {
                got: flags.cores.unwrap_or(0),
                max: available_cores.max(1) * 4,
            });
        }

        let exports = RuleSources {
            file: flags
                .exports_file
                .or_else(|| get("SLATENFS_EXPORTS").map(PathBuf::from))
                .map(|p| absolute(cwd, &p)),
            rules: flags.export_rules,
        };
        if exports.is_empty() && !listen.ip().is_loopback() {
            return Err(ConfigError::NoExportRules(listen));
        }
        let limits = limits(
            flags.max_connections,
            [
                flags.idle_timeout,
                flags.record_timeout,
                flags.write_timeout,
                flags.drain_timeout,
            ],
        )?;
        // A bad value is reported under the name it was given by (flag or variable).
        let seconds = |flag: Option<String>,
                       flag_name: &'static str,
                       var: &'static str,
                       example: u32,
                       default| {
            let (text, name, example) = match flag {
                Some(text) => (text, flag_name, format!("{flag_name} {example}")),
                None => match get(var) {
                    Some(text) => (text, var, format!("{var}={example}")),
                    None => return Ok(default),
                },
            };
            match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 && v < 1e6 => Ok(Duration::from_secs_f64(v)),
                _ => Err(ConfigError::BadSeconds {
                    name,
                    example,
                    got: text,
                }),
            }
        };
        let object_store_timeout = seconds(
            flags.object_store_timeout,
            "--object-store-timeout",
            "SLATENFS_OBJECT_STORE_TIMEOUT",
            30,
            DEFAULT_OBJECT_STORE_TIMEOUT,
        )?;
        let wait_limit = seconds(
            flags.wait_limit,
            "--store-wait",
            "SLATENFS_STORE_WAIT",
            15,
            DEFAULT_WAIT_LIMIT,
        )?;
        let retries = match flags
            .object_store_retries
            .or_else(|| get("SLATENFS_OBJECT_STORE_RETRIES"))
        {
            None => DEFAULT_S3_RETRIES,
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if n <= 100 => n,
                _ => return Err(ConfigError::BadRetries(text)),
            },
        };
        let s3 = S3Settings {
            timeout: object_store_timeout,
            retries,
            ..s3
        };
        let faults = flags
            .inject_faults
            .map(|spec| {
                spec.parse::<FaultSchedule>()
                    .map_err(ConfigError::BadFaults)
            })
            .transpose()?;
        let grace_period = match flags.grace_period.or_else(|| get("SLATENFS_GRACE_PERIOD")) {
            None => DEFAULT_GRACE_PERIOD,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(secs) if secs <= 3600 => Duration::from_secs(secs),
                _ => return Err(ConfigError::BadGracePeriod(text)),
            },
        };
        let rpcbind = match flags.rpcbind.as_deref().map(str::trim) {
            None | Some("auto") => RpcbindMode::Auto,
            Some("own") => RpcbindMode::Own,
            Some("system") => RpcbindMode::System,
            Some("off") => RpcbindMode::Off,
            Some(other) => return Err(ConfigError::BadRpcbind(other.to_string())),
        };
        let simulate_object_store = flags
            .simulate_object_store
            .map(|s| s.parse::<StoreTiming>().map_err(ConfigError::BadSimulation))
            .transpose()?;

        let metrics_listen = flags
            .metrics_listen
            .map(|text| {
                text.parse::<SocketAddr>()
                    .map_err(|_| ConfigError::BadMetricsListen(text))
            })
            .transpose()?;

        let snapshot_schedule = snapshot_schedule(
            flags
                .snapshot_every
                .or_else(|| get("SLATENFS_SNAPSHOT_EVERY")),
            flags
                .snapshot_keep
                .or_else(|| get("SLATENFS_SNAPSHOT_KEEP")),
        )?;
        // The flag can only turn it on; the variable says either way.
        let read_only = flags.read_only
            || match get("SLATENFS_READ_ONLY").as_deref() {
                None => false,
                Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
                Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
                Some(v) => return Err(ConfigError::BadReadOnly(v.to_string())),
            };
        let replica_poll = seconds(
            flags.replica_poll,
            "--replica-poll",
            "SLATENFS_REPLICA_POLL",
            1,
            DEFAULT_READER_POLL,
        )?;

        if read_only && snapshot_schedule.is_some() {
            return Err(ConfigError::SnapshotsOnReplica);
        }

        let parse_id = |name: &'static str| match get(name) {
            None => Ok(None),
            Some(text) => match text.trim().parse::<u32>() {
                Ok(id) => Ok(Some(id)),
                Err(_) => Err(ConfigError::BadId { name, got: text }),
            },
        };
        let anon_uid = match flags.anon_uid {
            Some(id) => id,
            None => parse_id("SLATENFS_ANON_UID")?.unwrap_or(65534),
        };
        let anon_gid = match flags.anon_gid {
            Some(id) => id,
            None => parse_id("SLATENFS_ANON_GID")?.unwrap_or(65534),
        };
        Ok(ServeConfig {
            listen,
            storage,
            s3,
            cache_dir,
            cache_size_gb,
            cores,
            async_metadata: flags.async_metadata,
            anon_uid,
            anon_gid,
            exports,
            limits,
            test_panic_on_name: flags.test_panic_on_name,
            object_store_timeout,
            wait_limit,
            faults,
            lock_manager: !flags.no_lock_manager,
            grace_period,
            rpcbind,
            simulate_object_store,
            metrics_listen,
            snapshot_schedule,
            read_only,
            replica_poll,
        })
    }
}

impl ServeConfig {
    /// How the operator commands (fsck, snapshot, clone) open `url`: with this
    /// configuration's S3 client settings and time limits, and SlateDB's defaults otherwise.
    pub fn command_store_config(&self, url: &StorageUrl) -> StoreConfig {
        StoreConfig {
            s3: self.s3.clone(),
            object_store_timeout: self.object_store_timeout,
            wait_limit: self.wait_limit,
            ..StoreConfig::new(url.clone())
        }
    }
}

/// Automatic snapshots kept when `--snapshot-keep` is not given.
pub const DEFAULT_SNAPSHOT_KEEP: usize = 24;

/// The schedule of `--snapshot-every` and `--snapshot-keep`.
fn snapshot_schedule(
    every: Option<String>,
    keep: Option<String>,
) -> Result<Option<SnapshotSchedule>, ConfigError> {
    let Some(every_text) = every else {
        return match keep {
            None => Ok(None),
            Some(_) => Err(ConfigError::SnapshotKeepWithoutEvery),
        };
    };
    let every = humantime::parse_duration(every_text.trim())
        .ok()
        .filter(|d| *d >= snapshot::schedule::MIN_PERIOD)
        .ok_or(ConfigError::BadSnapshotEvery(every_text))?;
    let keep = match keep {
        None => DEFAULT_SNAPSHOT_KEEP,
        Some(text) => match text.trim().parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => return Err(ConfigError::BadSnapshotKeep(text)),
        },
    };
    Ok(Some(SnapshotSchedule { every, keep }))
}

/// The timeout flags, in the order [`limits`] takes their values.
const TIMEOUT_FLAGS: [&str; 4] = [
    "--idle-timeout",
    "--record-timeout",
    "--write-timeout",
    "--drain-timeout",
];

/// The runtime's limits: the defaults, with what `--max-connections` and the timeout flags (in
/// seconds, in the order of [`TIMEOUT_FLAGS`]) say.
fn limits(
    max_connections: Option<usize>,
    timeouts: [Option<u64>; 4],
) -> Result<Limits, ConfigError> {
    let mut limits = Limits::default();
    let max_connections = max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        return Err(ConfigError::BadMaxConnections(max_connections));
    }
    limits.max_connections = max_connections;
    let slots = [
        &mut limits.idle_timeout,
        &mut limits.record_timeout,
        &mut limits.write_timeout,
        &mut limits.drain_timeout,
    ];
    for ((slot, given), flag) in slots.into_iter().zip(timeouts).zip(TIMEOUT_FLAGS) {
        match given {
            Some(0) => {
                return Err(ConfigError::BadTimeout {
                    flag,
                    example: slot.as_secs(),
                    got: 0,
                })
            }
            Some(secs) => *slot = Duration::from_secs(secs),
            None => {}
        }
    }
    Ok(limits)
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// Parses `--storage`: `memory://`, `file:///abs/path` (a relative `file://rel` is taken from the
/// working directory), `s3://bucket[/prefix]`.
pub fn parse_storage(text: &str, cwd: &Path) -> Result<StorageUrl, ConfigError> {
    let bad = || ConfigError::BadStorage(text.to_string());
    if text == "memory://" || text == "memory:" {
        return Ok(StorageUrl::Memory);
    }
    if let Some(path) = text.strip_prefix("file://") {
        if path.is_empty() {
            return Err(bad());
        }
        return Ok(StorageUrl::File(absolute(cwd, Path::new(path))));
    }
    if let Some(rest) = text.strip_prefix("s3://") {
        let (bucket, prefix) = match rest.split_once('/') {
            Some((b, p)) => (b, p.trim_matches('/')),
            None => (rest, ""),
        };
        if bucket.is_empty() {
            return Err(bad());
        }
        return Ok(StorageUrl::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        });
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resolve(flags: ServeFlags, pairs: &[(&str, &str)]) -> Result<ServeConfig, ConfigError> {
        ServeConfig::resolve(flags, &env(pairs), Path::new("/work"), 2)
    }

    const BASE: [(&str, &str); 2] = [
        ("SLATEDB_CACHE_DIR", "/tmp/c"),
        ("SLATEDB_CACHE_SIZE_GB", "2"),
    ];

    #[test]
    fn defaults_to_embedded_local_store() {
        let c = resolve(ServeFlags::default(), &BASE).unwrap();
        assert_eq!(
            c.storage,
            StorageUrl::File(PathBuf::from("/work/.slatenfs/data"))
        );
        assert_eq!(c.listen, "127.0.0.1:2049".parse().unwrap());
        assert_eq!(c.cores, 2);
        assert_eq!(c.s3.region.as_deref(), Some("us-east-1"));
        let mut pairs = BASE.to_vec();
        pairs.push(("AWS_ACCESS_KEY_ID", "k"));
        let c = resolve(ServeFlags::default(), &pairs).unwrap();
        assert_eq!(
            c.storage,
            StorageUrl::S3 {
                bucket: "slatedb".into(),
                prefix: String::new()
            }
        );
        assert!(!c.s3.allow_http);
        assert_eq!((c.anon_uid, c.anon_gid), (65534, 65534));
        assert_eq!(c.object_store_timeout, DEFAULT_OBJECT_STORE_TIMEOUT);
        assert_eq!(c.s3.timeout, DEFAULT_OBJECT_STORE_TIMEOUT);
        assert_eq!(c.wait_limit, DEFAULT_WAIT_LIMIT);
        assert!(c.faults.is_none());
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("SLATENFS_OBJECT_STORE_TIMEOUT", "2.5"),
            ("SLATENFS_OBJECT_STORE_RETRIES", "0"),
            ("SLATENFS_STORE_WAIT", "4"),
        ]);
        let c = resolve(ServeFlags::default(), &pairs).unwrap();
        assert_eq!(c.s3.timeout, Duration::from_millis(2500));
        assert_eq!(c.s3.retries, 0);
        assert_eq!(c.wait_limit, Duration::from_secs(4));
        assert!(c.lock_manager);
        assert_eq!(c.grace_period, Duration::from_secs(45));
        assert_eq!(c.rpcbind, RpcbindMode::Auto);
    }

    #[test]
    fn lock_manager_settings() {
        let flags = ServeFlags {
            no_lock_manager: true,
            grace_period: Some("10".into()),
            rpcbind: Some("off".into()),
            ..Default::default()
        };
        let c = resolve(flags, &BASE).unwrap();
        assert!(!c.lock_manager);
        assert_eq!(c.grace_period, Duration::from_secs(10));
        assert_eq!(c.rpcbind, RpcbindMode::Off);
        let mut pairs = BASE.to_vec();
        pairs.push(("SLATENFS_GRACE_PERIOD", "0"));
        assert_eq!(
            resolve(ServeFlags::default(), &pairs).unwrap().grace_period,
            Duration::ZERO
        );
        for bad in ["-1", "1.5", "forever", "3601"] {
            let flags = ServeFlags {
                grace_period: Some(bad.into()),
                ..Default::default()
            };
            let e = resolve(flags, &BASE).unwrap_err();
            assert_eq!(e, ConfigError::BadGracePeriod(bad.into()));
            assert!(e.to_string().starts_with("--grace-period"));
        }
        let flags = ServeFlags {
            rpcbind: Some("maybe".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(flags, &BASE).unwrap_err(),
            ConfigError::BadRpcbind("maybe".into())
        );
    }

    #[test]
    fn replica_settings() {
        let c = resolve(ServeFlags::default(), &BASE).unwrap();
        assert!(!c.read_only);
        assert_eq!(c.replica_poll, DEFAULT_READER_POLL);
        let flags = ServeFlags {
            read_only: true,
            replica_poll: Some("0.25".into()),
            ..Default::default()
        };
        let c = resolve(flags, &BASE).unwrap();
        assert!(c.read_only);
        assert_eq!(c.replica_poll, Duration::from_millis(250));
        for (text, want) in [("true", true), ("1", true), ("FALSE", false), ("0", false)] {
            let mut pairs = BASE.to_vec();
            pairs.extend([("SLATENFS_READ_ONLY", text), ("SLATENFS_REPLICA_POLL", "3")]);
            let c = resolve(ServeFlags::default(), &pairs).unwrap();
            assert_eq!(c.read_only, want, "{text}");
            assert_eq!(c.replica_poll, Duration::from_secs(3));
        }
        let mut pairs = BASE.to_vec();
        pairs.push(("SLATENFS_READ_ONLY", "yes"));
        let e = resolve(ServeFlags::default(), &pairs).unwrap_err();
        assert_eq!(e, ConfigError::BadReadOnly("yes".into()));
        assert!(e
            .to_string()
            .starts_with("SLATENFS_READ_ONLY must be true or false"));
        for bad in ["0", "-1", "soon"] {
            let flags = ServeFlags {
                replica_poll: Some(bad.into()),
                ..Default::default()
            };
            let e = resolve(flags, &BASE).unwrap_err().to_string();
            assert!(
                e.starts_with(
                    "--replica-poll must be a positive number of seconds, e.g. --replica-poll 1"
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn s3_variables_select_s3() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_S3_BUCKET", "b1"),
            ("AWS_ALLOW_HTTP", "true"),
        ]);
        let c = resolve(ServeFlags::default(), &pairs).unwrap();
        assert_eq!(
            c.storage,
            StorageUrl::S3 {
                bucket: "b1".into(),
                prefix: String::new()
            }
        );
        assert!(c.s3.allow_http);
    }

    #[test]
    fn flags_win_over_environment() {
        let flags = ServeFlags {
            cache_dir: Some(PathBuf::from("rel")),
            cache_size_gb: Some("0.5".into()),
            storage: Some("memory://".into()),
            ..Default::default()
        };
        let c = resolve(flags, &BASE).unwrap();
        assert_eq!(c.cache_dir, PathBuf::from("/work/rel"));
        assert_eq!(c.cache_size_gb, 0.5);
        assert_eq!(c.storage, StorageUrl::Memory);
    }

    #[test]
    fn each_bad_setting_names_its_variable() {
        let e = resolve(ServeFlags::default(), &[("SLATEDB_CACHE_SIZE_GB", "1")]).unwrap_err();
        assert_eq!(e, ConfigError::MissingCacheDir);
        assert!(e.to_string().starts_with("SLATEDB_CACHE_DIR"));
        let e = resolve(ServeFlags::default(), &[("SLATEDB_CACHE_DIR", "/x")]).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("SLATEDB_CACHE_SIZE_GB is not set"));
        for bad in ["abc", "0", "-1", "NaN", "inf"] {
            let e = resolve(
                ServeFlags::default(),
                &[("SLATEDB_CACHE_DIR", "/x"), ("SLATEDB_CACHE_SIZE_GB", bad)],
            )
            .unwrap_err();
            assert_eq!(e, ConfigError::BadCacheSize(bad.to_string()), "{bad}");
        }
        let mut pairs = BASE.to_vec();
        pairs.push(("AWS_ALLOW_HTTP", "yes"));
        assert!(matches!(
            resolve(ServeFlags::default(), &pairs),
            Err(ConfigError::BadAllowHttp(_))
        ));
        let mut pairs = BASE.to_vec();
        pairs.push(("AWS_ENDPOINT_URL", "localhost:9000"));
        assert!(matches!(
            resolve(ServeFlags::default(), &pairs),
            Err(ConfigError::BadEndpoint(_))
        ));
        let flags = ServeFlags {
            listen: Some("2049".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve(flags, &BASE),
            Err(ConfigError::BadListen(_))
        ));
        let flags = ServeFlags {
            cores: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            resolve(flags, &BASE),
            Err(ConfigError::BadCores { .. })
        ));
        let flags = ServeFlags {
            listen: Some("0.0.0.0:2049".into()),
            ..Default::default()
        };
        let e = resolve(flags, &BASE).unwrap_err();
        assert_eq!(
            e,
            ConfigError::NoExportRules("0.0.0.0:2049".parse().unwrap())
        );
        assert!(e.to_string().contains("--export '/ 192.168.1.0/24(rw)'"));
        let flags = ServeFlags {
            max_connections: Some(0),
            ..Default::default()
        };
        assert_eq!(
            resolve(flags, &BASE).unwrap_err(),
            ConfigError::BadMaxConnections(0)
        );
        let flags = ServeFlags {
            write_timeout: Some(0),
            ..Default::default()
        };
        let e = resolve(flags, &BASE).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "--write-timeout must be a positive number of seconds, e.g. --write-timeout 60"
            ),
            "{e}"
        );
        for (name, bad) in [
            ("SLATENFS_OBJECT_STORE_TIMEOUT", "0"),
            ("SLATENFS_STORE_WAIT", "soon"),
            ("SLATENFS_OBJECT_STORE_RETRIES", "-1"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((name, bad));
            let e = resolve(ServeFlags::default(), &pairs).unwrap_err();
            assert!(e.to_string().starts_with(name), "{e}");
        }
        for name in ["SLATENFS_ANON_UID", "SLATENFS_ANON_GID"] {
            let mut pairs = BASE.to_vec();
            pairs.push((name, "nobody"));
            let e = resolve(ServeFlags::default(), &pairs).unwrap_err();
            assert_eq!(
                e,
                ConfigError::BadId {
                    name,
                    got: "nobody".into()
                }
            );
            assert!(e.to_string().starts_with(name), "{e}");
        }
        let mut pairs = BASE.to_vec();
        pairs.push(("SLATENFS_ANON_UID", "1000"));
        assert_eq!(
            resolve(ServeFlags::default(), &pairs).unwrap().anon_uid,
            1000
        );
        let flags = ServeFlags {
            inject_faults: Some("get:melt@1".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve(flags, &BASE),
            Err(ConfigError::BadFaults(_))
        ));
        let flags = ServeFlags {
            simulate_object_store: Some("fast".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve(flags, &BASE),
            Err(ConfigError::BadSimulation(_))
        ));
        let flags = ServeFlags {
            metrics_listen: Some("9100".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve(flags, &BASE),
            Err(ConfigError::BadMetricsListen(_))
        ));
        for e in [
            ConfigError::MissingCacheDir,
            ConfigError::BadStorage("x".into()),
        ] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn snapshot_schedule_from_flags_and_the_environment() {
        assert_eq!(
            resolve(ServeFlags::default(), &BASE)
                .unwrap()
                .snapshot_schedule,
            None
        );
        let flags = ServeFlags {
            snapshot_every: Some("6h".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(flags, &BASE).unwrap().snapshot_schedule,
            Some(SnapshotSchedule {
                every: Duration::from_secs(6 * 3600),
                keep: DEFAULT_SNAPSHOT_KEEP
            })
        );
        let mut pairs = BASE.to_vec();
        pairs.push(("SLATENFS_SNAPSHOT_EVERY", "15m"));
        pairs.push(("SLATENFS_SNAPSHOT_KEEP", "4"));
        assert_eq!(
            resolve(ServeFlags::default(), &pairs)
                .unwrap()
                .snapshot_schedule,
            Some(SnapshotSchedule {
                every: Duration::from_secs(900),
                keep: 4
            })
        );
        for (every, keep, want) in [
            (
                Some("30s"),
                None,
                ConfigError::BadSnapshotEvery("30s".into()),
            ),
            (
                Some("often"),
                None,
                ConfigError::BadSnapshotEvery("often".into()),
            ),
            (
                Some("1h"),
                Some("0"),
                ConfigError::BadSnapshotKeep("0".into()),
            ),
            (
                Some("1h"),
                Some("x"),
                ConfigError::BadSnapshotKeep("x".into()),
            ),
            (None, Some("3"), ConfigError::SnapshotKeepWithoutEvery),
        ] {
            let flags = ServeFlags {
                snapshot_every: every.map(Into::into),
                snapshot_keep: keep.map(Into::into),
                ..Default::default()
            };
            let e = resolve(flags, &BASE).unwrap_err();
            assert!(!e.to_string().contains('\n'));
            assert_eq!(e, want);
        }
    }

    #[test]
    fn rules_and_limits_come_from_flags_and_the_environment() {
        let c = resolve(ServeFlags::default(), &BASE).unwrap();
        assert!(c.exports.is_empty());
        assert_eq!(c.limits, Limits::default());
        let mut pairs = BASE.to_vec();
        pairs.push(("SLATENFS_EXPORTS", "etc/exports"));
        let flags = ServeFlags {
            listen: Some("0.0.0.0:2049".into()),
            export_rules: vec!["/ 10.0.0.0/8(rw)".into()],
            max_connections: Some(5),
            idle_timeout: Some(7),
            drain_timeout: Some(3),
            ..Default::default()
        };
        let c = resolve(flags, &pairs).unwrap();
        assert_eq!(c.exports.file, Some(PathBuf::from("/work/etc/exports")));
        assert_eq!(c.exports.rules, ["/ 10.0.0.0/8(rw)"]);
        assert_eq!(c.limits.max_connections, 5);
        assert_eq!(c.limits.idle_timeout, Duration::from_secs(7));
        assert_eq!(c.limits.drain_timeout, Duration::from_secs(3));
        assert_eq!(c.limits.write_timeout, Limits::default().write_timeout);
    }

    #[test]
    fn storage_urls() {
        let cwd = Path::new("/w");
        assert_eq!(
            parse_storage("file:///d", cwd).unwrap(),
            StorageUrl::File("/d".into())
        );
        assert_eq!(
            parse_storage("file://d", cwd).unwrap(),
            StorageUrl::File("/w/d".into())
        );
        assert_eq!(
            parse_storage("s3://b/p/q/", cwd).unwrap(),
            StorageUrl::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            }
        );
        for bad in ["", "s3://", "file://", "http://x", "/abs"] {
            assert!(parse_storage(bad, cwd).is_err(), "{bad}");
        }
    }
}
