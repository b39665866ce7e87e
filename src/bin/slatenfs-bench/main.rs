//! slatenfs-bench: an NFSv3 load generator that drives any NFSv3 server over TCP.
//!
//! Each connection runs in its own thread with `--depth` calls in flight, pipelined on one
//! socket. Setup (directories, files, the large data file) happens before timing starts, inside
//! `--dir` under the export root; what can be reused from an earlier run is reused. Reads verify
//! their data: file contents are a function of (file name, offset), so no copy is kept. Any
//! mismatch, NFS error status, RPC rejection or transport failure counts in `errors`.
//!
//! Output: one JSON line on stdout; progress and diagnostics on stderr. `mb_per_sec` counts data
//! bytes moved by READ / WRITE calls of ops completed in the timed window, in MB (10^6 bytes).
//! `client_bytes_written` counts every WRITE byte the server acknowledged during this run, setup
//! included (for write amplification: bytes the object store got / bytes clients wrote).
//!
//! `--workload store-read` is no NFS load: it reads a stopped server's `--storage` straight from
//! the object store, as the reference bandwidth of seqread (see [`storeread`]).

mod acklog;
mod calls;
mod content;
mod pipeline;
mod report;
mod rng;
mod setup;
mod storeread;
mod workloads;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;

use slatenfs::netclient::{auth_sys, Connection};

use pipeline::{drive, Ctx};
use report::{json_line, Stats};
use setup::prepare;
use workloads::{make_load, Workload};

/// NFSv3 load generator: prints one JSON line with throughput, latency and errors.
#[derive(Debug, Parser)]
#[command(name = "slatenfs-bench", version)]
struct Args {
    /// Server host name or address.
    #[arg(long, default_value = "127.0.0.1")]
    server: String,
    /// NFS port.
    #[arg(long, default_value_t = 2049)]
    port: u16,
    /// MOUNT port (default: the NFS port).
    #[arg(long)]
    mountport: Option<u16>,
    /// Export path to mount.
    #[arg(long, default_value = "/")]
    export: String,
    /// TCP connections, one thread each.
    #[arg(long, default_value_t = 4)]
    conns: usize,
    /// Calls in flight per connection.
    #[arg(long, default_value_t = 16)]
    depth: usize,
    /// Length of the timed window.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, value_enum)]
    workload: Workload,
    /// Directory under the export root for this run's files (made if missing, else reused).
    #[arg(long, default_value = "slatenfs-bench")]
    dir: String,
    /// Size of the large file of seqread / randread / randwrite, in MiB (store-read: the
    /// largest tables that hold at least this much).
    #[arg(long, default_value_t = 1024)]
    file_mb: u64,
    /// Size of each seqwrite file, in MiB.
    #[arg(long, default_value_t = 64)]
    seqwrite_file_mb: u64,
    /// Keep the seqwrite files (default: remove them after the timed window).
    #[arg(long)]
    keep: bool,
    /// Only prepare the files the workload needs, then exit (nothing on stdout).
    #[arg(long)]
    setup_only: bool,
    /// Seconds a call may wait for its reply before the connection counts as failed.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Seed of the random offsets and names.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The acknowledgement log of the ack workload (appended to).
    #[arg(long, value_name = "FILE")]
    ack_log: Option<std::path::PathBuf>,
    /// The round of the ack workload (its workers' directories are r<ROUND>w<N>).
    #[arg(long, default_value_t = 0)]
    round: u32,
    /// With --workload ack: check the server's state against --ack-log instead of loading it.
    #[arg(long)]
    check: bool,
    /// With --workload store-read: the storage a (stopped) server serves, read directly, e.g.
    /// file:///var/tmp/data.
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// With --workload store-read: the timing the server simulates (its
    /// --simulate-object-store), e.g. get=20ms,bandwidth=100 [default: none]
    #[arg(long, value_name = "TIMING")]
    simulate_object_store: Option<String>,
    /// With --workload store-read: the size of each ranged GET, in KiB.
    #[arg(long, default_value_t = 1024)]
    get_kb: u64,
}

/// A name part of this run alone (time and process id), so a run never reuses the names of an
/// earlier one.
fn run_nonce() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{:x}", t ^ u64::from(std::process::id()) << 48)
}

/// The first address of `host`.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port}: no address"))
}

/// A connection of the bench (AUTH_SYS root, named after connection `index`) whose calls wait
/// at most `timeout` for their replies.
fn connect(addr: &SocketAddr, timeout: Duration, index: usize) -> Result<Connection, String> {
    let cred = auth_sys(0, 0, format!("slatenfs-bench-{index}").as_bytes());
    let mut conn = Connection::connect_timeout(addr, Duration::from_secs(10), cred)
        .map_err(|e| format!("connect {addr}: {e}"))?;
    conn.set_timeout(Some(timeout))
        .map_err(|e| format!("socket timeout: {e}"))?;
    Ok(conn)
}

/// The ack workload (see [`acklog`]): prints one JSON line; exits 1 if it failed or, with
/// `--check`, if anything acknowledged was lost.
fn ack(args: &Args) -> ! {
    let result = if args.check {
        acklog::run_check(args)
    } else {
        acklog::run_load(args).map(|line| (line, true))
    };
    match result {
        Ok((line, ok)) => {
            println!("{line}");
            std::process::exit(if ok { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("slatenfs-bench: {e}");
            std::process::exit(1)
        }
    }
}

/// The store-read workload (see [`storeread`]): prints one JSON line; exits 1 if it could not
/// run.
fn store_read(args: &Args) -> ! {
    let (stats, failed) = match storeread::run(args) {
        Ok(stats) => {
            for m in &stats.messages {
                eprintln!("slatenfs-bench: error: {m}");
            }
            (stats, false)
        }
        Err(e) => {
            eprintln!("slatenfs-bench: {e}");
            let mut stats = Stats::new();
            stats.errors = 1;
            (stats, true)
        }
    };
    println!("{}", json_line(args.workload, args.seconds, &stats, 0));
    std::process::exit(if failed { 1 } else { 0 })
}

/// Mounts, sets up, then runs `--conns` connections on threads for the timed window: the
/// merged stats and the WRITE bytes the setup had acknowledged.
fn run(args: &Args) -> Result<(Stats, u64), String> {
    let nfs = resolve(&args.server, args.port)?;
    let mnt = resolve(&args.server, args.mountport.unwrap_or(args.port))?;
    let timeout = Duration::from_secs(args.timeout.max(1));

    let root = {
        let mut m = connect(&mnt, timeout, 0)?;
        m.mount(args.export.as_bytes())
            .map_err(|e| format!("MNT {} on {mnt}: {e}", args.export))?
    };
    let mut setup_conn = connect(&nfs, timeout, 0)?;
    let t = Instant::now();
    let prepared = Arc::new(prepare(args, &mut setup_conn, &root)?);
    drop(setup_conn);
    eprintln!(
        "slatenfs-bench: {} setup done in {:.1} s",
        args.workload.name(),
        t.elapsed().as_secs_f64()
    );
    if args.setup_only {
        return Ok((Stats::new(), prepared.written));
    }

    let nonce = run_nonce();
    let conns = args.conns.max(1);
    let barrier = Barrier::new(conns + 1);
    let window = Duration::from_secs_f64(args.seconds.max(0.0));
    let mut total = Stats::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..conns)
            .map(|i| {
                let prepared = Arc::clone(&prepared);
                let (barrier, nonce) = (&barrier, &nonce);
                s.spawn(move || {
                    let ready = connect(&nfs, timeout, i).and_then(|mut conn| {
                        make_load(args, &prepared, &mut conn, i, nonce).map(|l| (conn, l))
                    });
                    barrier.wait();
                    let start = Instant::now();
                    let mut cx = Ctx::new(start + window);
                    match ready {
                        Ok((mut conn, mut load)) => {
                            drive(&mut conn, load.as_mut(), args.depth.max(1), &mut cx);
                            load.finish(&mut conn, &mut cx);
                        }
                        Err(e) => cx.error(format!("connection {i}: {e}")),
                    }
                    cx.stats
                })
            })
            .collect();
        barrier.wait();
        eprintln!(
            "slatenfs-bench: {} timing {:.1} s on {conns} connections x {} in flight",
            args.workload.name(),
            args.seconds,
            args.depth
        );
        for h in handles {
            match h.join() {
                Ok(st) => total.merge(&st),
                Err(_) => {
                    total.errors += 1;
                    total.messages.push("a connection thread panicked".into());
                }
            }
        }
    });
    Ok((total, prepared.written))
}

fn main() {
    let args = Args::parse();
    match args.workload {
        Workload::Ack => ack(&args),
        Workload::StoreRead => store_read(&args),
        _ => {}
    }
    let (stats, written, failed) = match run(&args) {
        Ok((stats, setup_written)) => {
            for m in &stats.messages {
                eprintln!("slatenfs-bench: error: {m}");
            }
            if stats.errors > stats.messages.len() as u64 {
                eprintln!("slatenfs-bench: ... {} errors in all", stats.errors);
            }
            let written = stats.written + setup_written;
            (stats, written, false)
        }
        Err(e) => {
            eprintln!("slatenfs-bench: {e}");
            let mut stats = Stats::new();
            stats.errors = 1;
            (stats, 0, true)
        }
    };
    if !args.setup_only {
        println!(
            "{}",
            json_line(args.workload, args.seconds, &stats, written)
        );
    }
    if failed {
        std::process::exit(1);
    }
}
