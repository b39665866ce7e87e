//! `slatenfs`: the command line.
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use slatenfs::config::{ServeConfig, ServeFlags};
use slatenfs::snapshot::{SnapshotCommand, SnapshotName};

#[derive(Parser, Debug)]
#[command(
    name = "slatenfs",
    version,
    about = "An NFSv3 gateway that stores a POSIX filesystem in SlateDB on object storage",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the filesystem over NFSv3 (MOUNT v3, NFS v3, portmap/rpcbind and the NLM/NSM lock
    /// manager on one port).
    #[command(after_help = ENV_HELP)]
    Serve(Box<ServeArgs>),
    /// Check the filesystem's consistency offline, with the storage and cache settings of
    /// `serve`; prints a summary and exits 0 if consistent, 1 if not, 2 if it could not run.
    #[command(after_help = FSCK_HELP)]
    Fsck(FsckArgs),
    /// Create, list or delete snapshots: read-only point-in-time states of the filesystem,
    /// browsed under /.snapshot/NAME on the live export
    #[command(after_help = SNAPSHOT_HELP)]
    Snapshot(SnapshotArgs),
    /// Make a new writable filesystem from a snapshot, without copying data (a restore of
    /// the whole filesystem, or a fork)
    #[command(after_help = CLONE_HELP)]
    Clone(CloneArgs),
}

const CLONE_HELP: &str = "\
The parent is the storage `slatenfs serve` would use (--from-storage, else SLATENFS_STORAGE or
the AWS_* settings); it is only read, and may be served meanwhile. The clone shares the
parent's tables (SlateDB keeps them for it with a checkpoint of its own in the parent, so
deleting the snapshot later does not break the clone) and gets its own filesystem id, so
handles of one are stale on the other. Both must be on one back end: two file:// paths of one
machine, or two prefixes of one S3 bucket. Then: slatenfs serve --storage URL

Exit status: 0 done, 1 refused (no such snapshot, destination not empty, other back end),
2 could not run.";

#[derive(clap::Args, Debug)]
struct CloneArgs {
    /// The snapshot to start from
    #[arg(long, value_name = "NAME")]
    from_snapshot: String,
    /// Where the new filesystem goes: file:///path or s3://bucket/prefix (must hold nothing)
    #[arg(long, value_name = "URL")]
    storage: String,
    /// The parent's storage [default: as for serve]
    #[arg(long, value_name = "URL")]
    from_storage: Option<String>,
}

const SNAPSHOT_HELP: &str = "\
With the storage and cache settings of `slatenfs serve` (flags or SLATEDB_CACHE_DIR,
SLATENFS_STORAGE, AWS_*): the command asks the server that uses that cache directory, over
its admin socket (SLATEDB_CACHE_DIR/admin.sock, root or the server's user only). With no
server running it opens the storage itself (create opens it as its writer: a server writing
the same storage from another machine would be fenced; run the command there instead).

A snapshot holds every operation acknowledged before `create` returned, including UNSTABLE
writes not yet committed, and no part of any later one. Names: 1-64 of A-Z a-z 0-9 . _ -

Exit status: 0 done, 1 refused (duplicate name, no such snapshot, storage error), 2 could
not run (a bad name, settings, cache directory).";

#[derive(clap::Args, Debug)]
struct SnapshotArgs {
    #[command(subcommand)]
    action: SnapshotAction,
    /// Object storage, as for serve
    #[arg(long, value_name = "URL", global = true)]
    storage: Option<String>,
    /// Local cache directory of the server [env: SLATEDB_CACHE_DIR]
    #[arg(long, value_name = "DIR", global = true)]
    cache_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum SnapshotAction {
    /// Take a snapshot named NAME now
    Create { name: String },
    /// List the snapshots: name, id, creation time, kind, and the object-store bytes that
    /// only this snapshot keeps
    List,
    /// Delete the snapshot named NAME
    Delete { name: String },
}

const FSCK_HELP: &str = "\
Reads a read-only view of the latest durable state: nothing is written, no server is fenced.
It refuses to run while a server uses the same cache directory (unless --force).
--repair opens the storage as its writer instead (a server still using it is fenced and
stops), fixes what can be fixed safely, each fix one atomic batch, and says what it did:
leftover reclaim, dangling entries and cookie records, orphan inodes (named in /lost+found),
link counts and '..' pointers, chunks of no live file.

The environment is read as by `slatenfs serve` (SLATEDB_CACHE_DIR, SLATENFS_STORAGE, AWS_*).";

#[derive(clap::Args, Debug)]
struct FsckArgs {
    /// Object storage, as for serve
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// Local cache directory of the server [env: SLATEDB_CACHE_DIR]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Local cache budget in GiB, as for serve [env: SLATEDB_CACHE_SIZE_GB] [default: 1]
    #[arg(long, value_name = "GIB")]
    cache_size_gb: Option<String>,
    /// Run even while a server uses the cache directory
    #[arg(long)]
    force: bool,
    /// Fix what can be fixed safely (opens the storage as its writer)
    #[arg(long)]
    repair: bool,
}

const ENV_HELP: &str = "\
Environment (flags win over variables):
  SLATEDB_CACHE_DIR       local cache directory (required unless --cache-dir)
  SLATEDB_CACHE_SIZE_GB   local cache budget in GiB, a positive number (required unless --cache-size-gb)
  SLATENFS_STORAGE        same as --storage
  AWS_ENDPOINT_URL        S3-compatible endpoint; setting it (or AWS_ACCESS_KEY_ID) selects S3
  AWS_S3_BUCKET           bucket name (default: slatedb)
  AWS_ACCESS_KEY_ID       S3 access key
  AWS_SECRET_ACCESS_KEY   S3 secret key
  AWS_DEFAULT_REGION      region (default: us-east-1)
  AWS_ALLOW_HTTP          true to allow plain-http endpoints (default: false)
  SLATENFS_OBJECT_STORE_TIMEOUT, SLATENFS_OBJECT_STORE_RETRIES, SLATENFS_STORE_WAIT
                          same as the flags of the same names
  SLATENFS_GRACE_PERIOD   same as --grace-period
  SLATENFS_EXPORTS        same as --exports
  SLATENFS_ANON_UID, SLATENFS_ANON_GID
                          same as --anon-uid and --anon-gid
  SLATENFS_SNAPSHOT_EVERY, SLATENFS_SNAPSHOT_KEEP
                          same as --snapshot-every and --snapshot-keep
  SLATENFS_READ_ONLY      true to serve as a read-only replica, as --read-only (default: false)
  SLATENFS_REPLICA_POLL   same as --replica-poll
  RUST_LOG                log filter, e.g. info or slatenfs=debug (default: info)

Export rules (exports(5) syntax: PATH CLIENT(OPTIONS) ...; clients are addresses, CIDR networks
or *; options rw/ro, root_squash/no_root_squash/all_squash, anonuid=N, anongid=N,
secure/insecure; the defaults are ro,root_squash,secure). With no rules, only loopback clients
may mount, rw,no_root_squash,insecure. SIGHUP re-reads --exports.
  --export '/ 192.168.1.0/24(rw)'                 one subnet read-write, root squashed
  --export '/ 192.168.1.0/24(rw) 192.168.2.9(ro)' and one host read-only

Exit status: 0 after SIGINT/SIGTERM, 2 for a configuration error, 3 when another server
opened the same storage and fenced this one, 1 for any other failure.

Mount from Linux (fcntl/flock locks are shared by all clients through NLM, which the client
finds on port 111; see --rpcbind):
  mount -t nfs -o vers=3,tcp,port=2049,mountport=2049,soft 127.0.0.1:/ /mnt
Mount from macOS (locks local to the client):
  mount -t nfs -o nolocks,vers=3,tcp,port=2049,mountport=2049,soft 127.0.0.1:/ /mnt";

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address and port for NFS and MOUNT (TCP), NLM and NSM (TCP and UDP) [default: 127.0.0.1:2049]
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// Object storage: file:///path, s3://bucket[/prefix] or memory:// [default: S3 when AWS_ENDPOINT_URL or AWS_ACCESS_KEY_ID is set, else file://./.slatenfs/data]
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// Local cache directory [env: SLATEDB_CACHE_DIR]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Local cache budget in GiB [env: SLATEDB_CACHE_SIZE_GB]
    #[arg(long, value_name = "GIB")]
    cache_size_gb: Option<String>,
    /// Number of executor threads, one per core [default: all cores]
    #[arg(long, value_name = "N")]
    cores: Option<usize>,
    /// Reply to metadata operations before they are durable (a crash may lose the last ~100 ms of
    /// namespace changes; data written with FILE_SYNC or committed with COMMIT stays durable)
    #[arg(long = "async")]
    async_metadata: bool,
    /// uid for AUTH_NONE callers [default: 65534]
    #[arg(long, value_name = "UID")]
    anon_uid: Option<u32>,
    /// gid for AUTH_NONE callers [default: 65534]
    #[arg(long, value_name = "GID")]
    anon_gid: Option<u32>,
    /// File of export rules, re-read on SIGHUP [env: SLATENFS_EXPORTS]
    #[arg(long, value_name = "FILE")]
    exports: Option<PathBuf>,
    /// An export rule, e.g. '/ 192.168.1.0/24(rw)' (repeatable; added to --exports)
    #[arg(long = "export", value_name = "RULE")]
    export_rules: Vec<String>,
    /// Connections open at once; more are refused [default: 1024]
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Seconds a connection with nothing in flight may stay idle [default: 360]
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// Seconds a record may take to arrive once begun [default: 30]
    #[arg(long, value_name = "SECS")]
    record_timeout: Option<u64>,
    /// Seconds a client may take to read any of its replies [default: 60]
    #[arg(long, value_name = "SECS")]
    write_timeout: Option<u64>,
    /// Seconds a stop waits for calls in flight before closing what is left [default: 10]
    #[arg(long, value_name = "SECS")]
    drain_timeout: Option<u64>,
    /// Test hook: calls about this file name panic inside the call
    #[arg(long, value_name = "NAME", hide = true)]
    test_panic_on_name: Option<String>,
    /// Longest one object-store call may take, in seconds; SlateDB retries a call that fails [env: SLATENFS_OBJECT_STORE_TIMEOUT] [default: 30]
    #[arg(long, value_name = "SECS")]
    object_store_timeout: Option<String>,
    /// Retries of one S3 request by the S3 client [env: SLATENFS_OBJECT_STORE_RETRIES] [default: 3]
    #[arg(long, value_name = "N")]
    object_store_retries: Option<String>,
    /// Longest a client call waits for the object store before it is answered NFS3ERR_JUKEBOX (try again later), in seconds [env: SLATENFS_STORE_WAIT] [default: 15]
    #[arg(long, value_name = "SECS")]
    store_wait: Option<String>,
    /// TESTS ONLY: inject object-store faults (see src/store/fault.rs for the syntax)
    #[arg(long, value_name = "SPEC", hide = true)]
    inject_faults: Option<String>,
    /// Do not serve the NLM lock manager and NSM status monitor (clients then mount with nolock)
    #[arg(long)]
    no_lock_manager: bool,
    /// After a restart, only lock reclaims are granted for this many seconds [default: 45]
    #[arg(long, value_name = "SECONDS")]
    grace_period: Option<String>,
    /// Port 111, where clients find the lock manager: auto (serve portmap/rpcbind there if it
    /// can be bound, else register with the system's rpcbind), own, system or off [default: auto]
    #[arg(long, value_name = "MODE")]
    rpcbind: Option<String>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics [default: off]
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<String>,
    /// Take a snapshot this often, named auto-YYYYMMDDTHHMMZ (UTC), e.g. 6h; at least 1m [env: SLATENFS_SNAPSHOT_EVERY] [default: off]
    #[arg(long, value_name = "DURATION")]
    snapshot_every: Option<String>,
    /// Automatic snapshots kept; older ones are deleted (manual ones never are) [env: SLATENFS_SNAPSHOT_KEEP] [default: 24]
    #[arg(long, value_name = "N")]
    snapshot_keep: Option<String>,
    /// Benchmarks only: delay every object-store request as S3 would (`20ms`, or
    /// `get=20ms,put=30ms,list=50ms,delete=20ms,bandwidth=80`)
    #[arg(long, value_name = "TIMING", hide = true)]
    simulate_object_store: Option<String>,
    /// Serve a read-only replica of the filesystem another server writes on the same storage:
    /// it follows the writer's durable state, answers writes NFS3ERR_ROFS, never fences the
    /// writer, serves the writer's file handles, and has no lock manager (mount with nolock).
    /// Give it its own --cache-dir [env: SLATENFS_READ_ONLY]
    #[arg(long)]
    read_only: bool,
    /// How often a replica looks for the writer's new writes, in seconds: it lags the writer by
    /// about this much [env: SLATENFS_REPLICA_POLL] [default: 1]
    #[arg(long, value_name = "SECS")]
    replica_poll: Option<String>,
}

/// Caps glibc's malloc at two arenas unless `MALLOC_ARENA_MAX` says otherwise.
///
/// glibc gives threads up to 8 arenas per core and rarely returns their freed pages, so the
/// 64 KiB chunks and 1 MiB WRITE payloads that pass between the executors, the storage runtime
/// and SlateDB's compactor leave each arena holding its own high-water mark, and the RSS under a
/// stream of writes (scripts/rss-under-writes.sh) grows with the number of arenas while the
/// throughput does not. Small allocations are served by glibc's per-thread caches, so two
/// arenas are rarely contended.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn cap_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return; // glibc already applied the operator's choice
    }
    // SAFETY: mallopt only sets a tunable of the allocator; it is called before any thread
    // other than main exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn cap_malloc_arenas() {}

fn main() -> ExitCode {
    cap_malloc_arenas();
    let cli = Cli::parse();
    // A server logs what it does; the other commands print their results, and only warnings
    // (a retried request, say) belong beside them.
    let default_log = match cli.command {
        Command::Serve(_) => "info",
        Command::Fsck(_) | Command::Snapshot(_) | Command::Clone(_) => "warn",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_log)).init();
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Fsck(args) => fsck(args),
        Command::Snapshot(args) => snapshot(args),
        Command::Clone(args) => clone(args),
    }
}

fn clone(args: CloneArgs) -> ExitCode {
    let flags = ServeFlags {
        storage: args.from_storage,
        // The command keeps nothing locally; the setting is only required of a server.
        cache_dir: Some(std::env::temp_dir()),
        cache_size_gb: Some("1".into()),
        ..ServeFlags::default()
    };
    let config = match resolve(flags) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let destination = match slatenfs::config::parse_storage(&args.storage, &cwd) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("slatenfs clone: --storage: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = slatenfs::app::snapshot_cmd::clone(&config, &args.from_snapshot, &destination);
    report("clone", outcome.status, &outcome.text)
}

/// Prints a command's text (stdout on success, stderr otherwise) and returns its status.
fn report(command: &str, status: u8, text: &str) -> ExitCode {
    if status == 0 {
        print!("{text}");
    } else {
        eprint!("slatenfs {command}: {text}");
        if !text.ends_with('\n') {
            eprintln!();
        }
    }
    ExitCode::from(status)
}

fn snapshot(args: SnapshotArgs) -> ExitCode {
    let command = match args.action {
        SnapshotAction::Create { name } => match SnapshotName::parse(&name) {
            Ok(name) => SnapshotCommand::Create(name),
            Err(e) => {
                eprintln!("slatenfs snapshot: {e}");
                return ExitCode::from(2);
            }
        },
        SnapshotAction::List => SnapshotCommand::List,
        SnapshotAction::Delete { name } => SnapshotCommand::Delete(name),
    };
    let flags = ServeFlags {
        storage: args.storage,
        cache_dir: args.cache_dir,
        // Only a server uses the size.
        cache_size_gb: Some("1".into()),
        ..ServeFlags::default()
    };
    let config = match resolve(flags) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let outcome = slatenfs::app::snapshot_cmd::run(&config, &command);
    report("snapshot", outcome.status, &outcome.text)
}

fn fsck(args: FsckArgs) -> ExitCode {
    let flags = ServeFlags {
        storage: args.storage,
        cache_dir: args.cache_dir,
        // The size only matters to a server; fsck takes the operator's setting if there is one.
        cache_size_gb: args.cache_size_gb.or_else(|| Some("1".into())),
        ..ServeFlags::default()
    };
    let config = match resolve(flags) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mode = slatenfs::check::FsckMode {
        force: args.force,
        repair: args.repair,
    };
    let outcome = slatenfs::check::run(&config, mode);
    if outcome.status == 2 {
        eprint!("slatenfs fsck: {}", outcome.text);
        if !outcome.text.ends_with('\n') {
            eprintln!();
        }
    } else {
        print!("{}", outcome.text);
    }
    ExitCode::from(outcome.status)
}

/// The settings from `flags` and the environment; a mistake is printed (one line) and becomes
/// exit status 2.
fn resolve(flags: ServeFlags) -> Result<ServeConfig, ExitCode> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    ServeConfig::resolve(flags, &env, &cwd, cores).map_err(|e| {
        eprintln!("slatenfs: {e}");
        ExitCode::from(2)
    })
}

fn serve(args: ServeArgs) -> ExitCode {
    let flags = ServeFlags {
        listen: args.listen,
        storage: args.storage,
        cache_dir: args.cache_dir,
        cache_size_gb: args.cache_size_gb,
        cores: args.cores,
        async_metadata: args.async_metadata,
        anon_uid: args.anon_uid,
        anon_gid: args.anon_gid,
        exports_file: args.exports,
        export_rules: args.export_rules,
        max_connections: args.max_connections,
        idle_timeout: args.idle_timeout,
        record_timeout: args.record_timeout,
        write_timeout: args.write_timeout,
        drain_timeout: args.drain_timeout,
        test_panic_on_name: args.test_panic_on_name,
        object_store_timeout: args.object_store_timeout,
        object_store_retries: args.object_store_retries,
        wait_limit: args.store_wait,
        inject_faults: args.inject_faults,
        no_lock_manager: args.no_lock_manager,
        grace_period: args.grace_period,
        rpcbind: args.rpcbind,
        simulate_object_store: args.simulate_object_store,
        metrics_listen: args.metrics_listen,
        snapshot_every: args.snapshot_every,
        snapshot_keep: args.snapshot_keep,
        read_only: args.read_only,
        replica_poll: args.replica_poll,
    };
    let config = match resolve(flags) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match slatenfs::app::serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.already_logged() {
                eprintln!("slatenfs: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
