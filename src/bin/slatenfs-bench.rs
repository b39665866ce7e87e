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

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Parser, ValueEnum};

use slatenfs::netclient::{
    accepted, auth_sys, decode_nfs, ok_arm, parse_read, parse_readdirplus, ClientError, Connection,
    Request,
};
use slatenfs::proto::nfs3::{proc3, Ftype3, Nfs3Reply, Nfsstat3, StableHow};

const MIB: u64 = 1 << 20;
const SMALL: u64 = 4096;
const LOOKUP_FILES: usize = 1000;
const READDIR_FILES: usize = 10_000;
/// randwrite: a COMMIT after this many WRITEs per connection (4 MiB, like a client's
/// writeback of a few dirty MiB).
const RANDWRITE_COMMIT_EVERY: u64 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// GETATTR of one file, back to back.
    Getattr,
    /// LOOKUP of random names in a directory of 1,000 files.
    Lookup,
    /// 4 KiB files: CREATE + WRITE UNSTABLE + COMMIT (one op = the three calls).
    Create,
    /// 1 MiB WRITE UNSTABLE calls, COMMIT at the end of each file.
    Seqwrite,
    /// 1 MiB READs of the large file (--file-mb).
    Seqread,
    /// 4 KiB READs at random offsets of the large file.
    Randread,
    /// 4 KiB WRITE UNSTABLE at random offsets of the large file (a COMMIT every 1,024).
    Randwrite,
    /// READDIRPLUS over a directory of 10,000 entries (one op = one call).
    Readdir,
    /// mkdir / create / rename / remove / rmdir churn (one op = one call).
    Mixed,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Getattr => "getattr",
            Workload::Lookup => "lookup",
            Workload::Create => "create",
            Workload::Seqwrite => "seqwrite",
            Workload::Seqread => "seqread",
            Workload::Randread => "randread",
            Workload::Randwrite => "randwrite",
            Workload::Readdir => "readdir",
            Workload::Mixed => "mixed",
        }
    }
}

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
    /// Size of the large file of seqread / randread / randwrite, in MiB.
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
}

// ---------------------------------------------------------------------------------------------
// Deterministic file contents.

/// FNV-1a of a file name: the key its contents derive from.
fn file_key(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The 8-byte word at (8-aligned) `offset` of the file with `key`.
#[inline]
fn word(key: u64, offset: u64) -> [u8; 8] {
    (key ^ offset.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .rotate_left(17)
        .to_le_bytes()
}

/// Contents of `len` bytes at `offset` (a multiple of 8).
fn content(key: u64, offset: u64, len: usize) -> Bytes {
    let mut v = vec![0u8; len];
    for (i, chunk) in v.chunks_mut(8).enumerate() {
        let w = word(key, offset + 8 * i as u64);
        chunk.copy_from_slice(&w[..chunk.len()]);
    }
    Bytes::from(v)
}

/// Whether `data` is what was written at `offset` (a multiple of 8).
fn verify(key: u64, offset: u64, data: &[u8]) -> bool {
    data.chunks(8)
        .enumerate()
        .all(|(i, chunk)| chunk == &word(key, offset + 8 * i as u64)[..chunk.len()])
}

/// xorshift64*: cheap, deterministic per seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/// Log-linear latency histogram in microseconds: exact below 64 µs, then 32 buckets per power
/// of two (about 3 % resolution). Fixed size.
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
}

const LINEAR: usize = 64;
const SUB: usize = 32;
const BUCKETS: usize = LINEAR + SUB * 40;

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
        }
    }

    fn bucket(us: u64) -> usize {
        if us < LINEAR as u64 {
            return us as usize;
        }
        let e = 63 - us.leading_zeros() as usize; // >= 6
        let sub = ((us >> (e - 5)) as usize) - SUB;
        (LINEAR + (e - 6) * SUB + sub).min(BUCKETS - 1)
    }

    /// A representative value of bucket `b`, in microseconds.
    fn value(b: usize) -> f64 {
        if b < LINEAR {
            return b as f64 + 0.5;
        }
        let e = 6 + (b - LINEAR) / SUB;
        let sub = (b - LINEAR) % SUB;
        let width = 1u64 << (e - 5);
        let low = (SUB as u64 + sub as u64) * width;
        low as f64 + width as f64 / 2.0
    }

    fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.counts[Self::bucket(us)] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The `q` quantile in milliseconds (0 when empty).
    fn quantile_ms(&self, q: f64) -> f64 {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let target = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return Self::value(b) / 1000.0;
            }
        }
        Self::value(BUCKETS - 1) / 1000.0
    }
}

struct Stats {
    hist: Histogram,
    /// Ops completed in the timed window.
    ops: u64,
    /// READ/WRITE data bytes of those ops.
    bytes: u64,
    errors: u64,
    /// Every WRITE byte acknowledged.
    written: u64,
    /// The first few error messages, for stderr.
    messages: Vec<String>,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            hist: Histogram::new(),
            ops: 0,
            bytes: 0,
            errors: 0,
            written: 0,
            messages: Vec::new(),
        }
    }

    fn merge(&mut self, o: &Stats) {
        self.hist.merge(&o.hist);
        self.ops += o.ops;
        self.bytes += o.bytes;
        self.errors += o.errors;
        self.written += o.written;
        for m in &o.messages {
            if self.messages.len() < 20 {
                self.messages.push(m.clone());
            }
        }
    }
}

/// What a workload sees when a reply arrives.
struct Ctx {
    now: Instant,
    deadline: Instant,
    stats: Stats,
}

impl Ctx {
    fn new(deadline: Instant) -> Ctx {
        Ctx {
            now: Instant::now(),
            deadline,
            stats: Stats::new(),
        }
    }

    /// An op that started at `started` is complete; counts if it completed in the window.
    fn op_done(&mut self, started: Instant, bytes: u64) {
        if self.now <= self.deadline {
            self.stats.ops += 1;
            self.stats.bytes += bytes;
            self.stats
                .hist
                .record(self.now.saturating_duration_since(started));
        }
    }

    fn error(&mut self, what: impl std::fmt::Display) {
        self.stats.errors += 1;
        if self.stats.messages.len() < 10 {
            self.stats.messages.push(what.to_string());
        }
    }

    fn wrote(&mut self, n: u64) {
        self.stats.written += n;
    }
}

// ---------------------------------------------------------------------------------------------
// The pipelined driver.

/// A workload on one connection: hands out calls and consumes their replies.
trait Load: Send {
    /// The next call to send (with a tag the reply is handed back with), or `None` when nothing
    /// can be sent until a reply arrives.
    fn next(&mut self) -> Option<(u64, Request)>;
    /// The reply (results of an accepted call, or the error) to the call tagged `tag`.
    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx);
    /// Untimed work after the window (commits, cleanup), synchronous.
    fn finish(&mut self, _conn: &mut Connection, _cx: &mut Ctx) {}
}

/// Runs `load` with up to `depth` calls in flight until `cx.deadline`, then waits for the
/// calls in flight. Also ends when nothing is in flight and the load has nothing to send.
fn drive(conn: &mut Connection, load: &mut dyn Load, depth: usize, cx: &mut Ctx) {
    let mut inflight: HashMap<u32, (u64, Instant)> = HashMap::with_capacity(depth * 2);
    loop {
        let now = Instant::now();
        if now < cx.deadline {
            let mut queued = false;
            while inflight.len() < depth {
                let Some((tag, req)) = load.next() else { break };
                match conn.queue(&req) {
                    Ok(xid) => {
                        inflight.insert(xid, (tag, now));
                        queued = true;
                    }
                    Err(e) => {
                        cx.error(format!("{}: {e}", req.name()));
                        return;
                    }
                }
            }
            if queued {
                if let Err(e) = conn.flush() {
                    cx.error(format!("send: {e}"));
                    cx.stats.errors += inflight.len() as u64;
                    return;
                }
            }
        }
        if inflight.is_empty() {
            return;
        }
        match conn.recv() {
            Ok(reply) => {
                cx.now = Instant::now();
                match inflight.remove(&reply.xid) {
                    Some((tag, sent)) => load.reply(tag, sent, accepted(reply.status), cx),
                    None => cx.error(format!("reply to unknown xid {:#x}", reply.xid)),
                }
            }
            Err(e) => {
                cx.error(format!("receive ({} calls in flight): {e}", inflight.len()));
                cx.stats.errors += inflight.len().saturating_sub(1) as u64;
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Workloads.

fn err_of(procedure: &'static str, status: Nfsstat3) -> ClientError {
    ClientError::Nfs { procedure, status }
}

/// Checks a WRITE reply; the bytes written.
fn write_ok(result: Result<Bytes, ClientError>, len: usize) -> Result<u64, ClientError> {
    let body = result?;
    match decode_nfs(proc3::WRITE, &body)? {
        Nfs3Reply::Write(r) => {
            let ok = ok_arm("WRITE", r)?;
            if ok.count as usize != len {
                return Err(ClientError::Protocol(format!(
                    "short WRITE: {} of {len}",
                    ok.count
                )));
            }
            Ok(len as u64)
        }
        _ => Err(ClientError::Protocol("not a WRITE reply".into())),
    }
}

/// Checks a reply whose results only carry a status.
fn status_ok(proc: u32, result: Result<Bytes, ClientError>) -> Result<(), ClientError> {
    let body = result?;
    let reply = decode_nfs(proc, &body)?;
    match reply.status() {
        Nfsstat3::Ok => Ok(()),
        s => Err(err_of(slatenfs::netclient::proc_name(proc), s)),
    }
}

/// The handle of a CREATE / MKDIR reply.
fn made_ok(proc: u32, result: Result<Bytes, ClientError>) -> Result<Bytes, ClientError> {
    let body = result?;
    let res = match decode_nfs(proc, &body)? {
        Nfs3Reply::Create(r) | Nfs3Reply::Mkdir(r) => r,
        _ => return Err(ClientError::Protocol("not a CREATE/MKDIR reply".into())),
    };
    match ok_arm(slatenfs::netclient::proc_name(proc), res)?.obj {
        Some(fh) => Ok(Bytes::copy_from_slice(fh.0)),
        None => Err(ClientError::Protocol(
            "no handle in CREATE/MKDIR reply".into(),
        )),
    }
}

/// Checks a READ reply against the expected contents.
fn read_ok(
    result: Result<Bytes, ClientError>,
    key: u64,
    offset: u64,
    expect_len: usize,
) -> Result<u64, ClientError> {
    let r = parse_read(&result?)?;
    if r.data.len() != expect_len {
        return Err(ClientError::Protocol(format!(
            "READ at {offset}: {} bytes, expected {expect_len}",
            r.data.len()
        )));
    }
    if !verify(key, offset, &r.data) {
        return Err(ClientError::Protocol(format!(
            "READ at {offset}: data mismatch"
        )));
    }
    Ok(r.data.len() as u64)
}

struct GetattrLoad {
    fh: Bytes,
}

impl Load for GetattrLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        Some((
            0,
            Request::Getattr {
                fh: self.fh.clone(),
            },
        ))
    }
    fn reply(&mut self, _: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let r = result.and_then(|body| match decode_nfs(proc3::GETATTR, &body)? {
            Nfs3Reply::Getattr(r) => {
                let a = ok_arm("GETATTR", r)?.obj_attributes;
                if a.ftype == Ftype3::Reg {
                    Ok(())
                } else {
                    Err(ClientError::Protocol("GETATTR: not a regular file".into()))
                }
            }
            _ => Err(ClientError::Protocol("not a GETATTR reply".into())),
        });
        match r {
            Ok(()) => cx.op_done(sent, 0),
            Err(e) => cx.error(e),
        }
    }
}

struct LookupLoad {
    dir: Bytes,
    rng: Rng,
}

impl Load for LookupLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        let i = self.rng.below(LOOKUP_FILES as u64);
        let name = Bytes::from(format!("f{i:04}"));
        Some((
            i,
            Request::Lookup {
                dir: self.dir.clone(),
                name,
            },
        ))
    }
    fn reply(&mut self, i: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let r = result.and_then(|body| match decode_nfs(proc3::LOOKUP, &body)? {
            Nfs3Reply::Lookup(r) => {
                let ok = ok_arm("LOOKUP", r)?;
                if ok.object.0.is_empty() {
                    Err(ClientError::Protocol("LOOKUP: empty handle".into()))
                } else {
                    Ok(())
                }
            }
            _ => Err(ClientError::Protocol("not a LOOKUP reply".into())),
        });
        match r {
            Ok(()) => cx.op_done(sent, 0),
            Err(e) => cx.error(format!("f{i:04}: {e}")),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Create,
    Write,
    Commit,
}

struct CreateOp {
    started: Instant,
    name: Bytes,
    fh: Bytes,
    stage: Stage,
}

/// CREATE + WRITE 4 KiB UNSTABLE + COMMIT per op, fresh names in a per-connection directory.
struct CreateLoad {
    dir: Bytes,
    next_id: u64,
    ops: HashMap<u64, CreateOp>,
    pending: VecDeque<(u64, Request)>,
}

impl Load for CreateLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        if let Some(p) = self.pending.pop_front() {
            return Some(p);
        }
        let id = self.next_id;
        self.next_id += 1;
        let name = Bytes::from(format!("f{id}"));
        self.ops.insert(
            id,
            CreateOp {
                started: Instant::now(),
                name: name.clone(),
                fh: Bytes::new(),
                stage: Stage::Create,
            },
        );
        Some((
            id,
            Request::Create {
                dir: self.dir.clone(),
                name,
                mode: 0o644,
                guarded: true,
            },
        ))
    }

    fn reply(&mut self, id: u64, _: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let Some(op) = self.ops.get_mut(&id) else {
            cx.error("reply for an unknown create op");
            return;
        };
        let step = match op.stage {
            Stage::Create => made_ok(proc3::CREATE, result).map(|fh| {
                op.fh = fh.clone();
                op.stage = Stage::Write;
                Some(Request::Write {
                    fh,
                    offset: 0,
                    stable: StableHow::Unstable,
                    data: content(file_key(&op.name), 0, SMALL as usize),
                })
            }),
            Stage::Write => write_ok(result, SMALL as usize).map(|n| {
                cx.stats.written += n;
                op.stage = Stage::Commit;
                Some(Request::Commit {
                    fh: op.fh.clone(),
                    offset: 0,
                    count: 0,
                })
            }),
            Stage::Commit => status_ok(proc3::COMMIT, result).map(|()| None),
        };
        match step {
            Ok(Some(req)) => self.pending.push_back((id, req)),
            Ok(None) => {
                let started = op.started;
                self.ops.remove(&id);
                cx.op_done(started, SMALL);
            }
            Err(e) => {
                self.ops.remove(&id);
                cx.error(e);
            }
        }
    }
}

/// Writes files of `file_size` with 1 MiB WRITE UNSTABLE calls, COMMIT at the end of each.
struct SeqWriteLoad {
    dir: Bytes,
    prefix: String,
    file_size: u64,
    files: Vec<WFile>,
    current: Option<usize>,
    creating: bool,
    commits: VecDeque<usize>,
    keep: bool,
}

struct WFile {
    name: Bytes,
    key: u64,
    fh: Option<Bytes>,
    next_off: u64,
    outstanding: u32,
    issued_all: bool,
    committed: bool,
    failed: bool,
}

const K_CREATE: u64 = 0;
const K_WRITE: u64 = 1;
const K_COMMIT: u64 = 2;

impl Load for SeqWriteLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        if let Some(i) = self.commits.pop_front() {
            let fh = self.files[i].fh.clone()?;
            return Some((
                (i as u64) << 2 | K_COMMIT,
                Request::Commit {
                    fh,
                    offset: 0,
                    count: 0,
                },
            ));
        }
        match self.current {
            None => {
                if self.creating {
                    return None;
                }
                let i = self.files.len();
                let name = Bytes::from(format!("{}{i}", self.prefix));
                self.files.push(WFile {
                    key: file_key(&name),
                    name: name.clone(),
                    fh: None,
                    next_off: 0,
                    outstanding: 0,
                    issued_all: false,
                    committed: false,
                    failed: false,
                });
                self.current = Some(i);
                self.creating = true;
                Some((
                    (i as u64) << 2 | K_CREATE,
                    Request::Create {
                        dir: self.dir.clone(),
                        name,
                        mode: 0o644,
                        guarded: true,
                    },
                ))
            }
            Some(i) => {
                let size = self.file_size;
                let f = &mut self.files[i];
                let fh = f.fh.clone()?;
                let off = f.next_off;
                let len = MIB.min(size - off);
                f.next_off += len;
                f.outstanding += 1;
                if f.next_off >= size {
                    f.issued_all = true;
                    self.current = None;
                }
                Some((
                    (i as u64) << 2 | K_WRITE,
                    Request::Write {
                        fh,
                        offset: off,
                        stable: StableHow::Unstable,
                        data: content(f.key, off, len as usize),
                    },
                ))
            }
        }
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let i = (tag >> 2) as usize;
        let Some(f) = self.files.get_mut(i) else {
            cx.error("reply for an unknown file");
            return;
        };
        match tag & 3 {
            K_CREATE => {
                self.creating = false;
                match made_ok(proc3::CREATE, result) {
                    Ok(fh) => f.fh = Some(fh),
                    Err(e) => {
                        f.failed = true;
                        if self.current == Some(i) {
                            self.current = None;
                        }
                        cx.error(e);
                    }
                }
            }
            K_WRITE => {
                f.outstanding = f.outstanding.saturating_sub(1);
                match write_ok(result, MIB as usize) {
                    Ok(n) => {
                        cx.wrote(n);
                        cx.op_done(sent, n);
                    }
                    Err(e) => {
                        f.failed = true;
                        cx.error(e);
                    }
                }
                if f.issued_all && f.outstanding == 0 && !f.failed {
                    self.commits.push_back(i);
                }
            }
            _ => match status_ok(proc3::COMMIT, result) {
                Ok(()) => f.committed = true,
                Err(e) => cx.error(e),
            },
        }
    }

    fn finish(&mut self, conn: &mut Connection, cx: &mut Ctx) {
        for f in &mut self.files {
            let Some(fh) = &f.fh else { continue };
            if !f.committed && !f.failed {
                match conn.commit(fh) {
                    Ok(_) => f.committed = true,
                    Err(e) => cx.error(format!("final COMMIT: {e}")),
                }
            }
        }
        if !self.keep {
            for f in &self.files {
                if f.fh.is_some() {
                    if let Err(e) = conn.remove(&self.dir, &f.name) {
                        cx.error(format!("cleanup REMOVE: {e}"));
                    }
                }
            }
        }
    }
}

/// READs of the large file: sequential 1 MiB (each connection from its own starting point,
/// wrapping) or random 4 KiB.
struct ReadLoad {
    fh: Bytes,
    key: u64,
    size: u64,
    random: Option<Rng>,
    pos: u64,
}

impl Load for ReadLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        let (off, count) = match &mut self.random {
            Some(rng) => (rng.below(self.size / SMALL) * SMALL, SMALL),
            None => {
                if self.pos >= self.size {
                    self.pos = 0;
                }
                let off = self.pos;
                self.pos += MIB;
                (off, MIB)
            }
        };
        Some((
            off,
            Request::Read {
                fh: self.fh.clone(),
                offset: off,
                count: count as u32,
            },
        ))
    }

    fn reply(&mut self, off: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let count = if self.random.is_some() { SMALL } else { MIB };
        let expect = count.min(self.size.saturating_sub(off)) as usize;
        match read_ok(result, self.key, off, expect) {
            Ok(n) => cx.op_done(sent, n),
            Err(e) => cx.error(e),
        }
    }
}

/// 4 KiB WRITE UNSTABLE at random aligned offsets of the large file, the same contents the
/// file already has there (so reads keep verifying); a COMMIT every 1,024 WRITEs.
struct RandWriteLoad {
    fh: Bytes,
    key: u64,
    size: u64,
    rng: Rng,
    since_commit: u64,
}

impl Load for RandWriteLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        if self.since_commit >= RANDWRITE_COMMIT_EVERY {
            self.since_commit = 0;
            return Some((
                u64::MAX,
                Request::Commit {
                    fh: self.fh.clone(),
                    offset: 0,
                    count: 0,
                },
            ));
        }
        self.since_commit += 1;
        let off = self.rng.below(self.size / SMALL) * SMALL;
        Some((
            off,
            Request::Write {
                fh: self.fh.clone(),
                offset: off,
                stable: StableHow::Unstable,
                data: content(self.key, off, SMALL as usize),
            },
        ))
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        if tag == u64::MAX {
            if let Err(e) = status_ok(proc3::COMMIT, result) {
                cx.error(e);
            }
            return;
        }
        match write_ok(result, SMALL as usize) {
            Ok(n) => {
                cx.wrote(n);
                cx.op_done(sent, n);
            }
            Err(e) => cx.error(e),
        }
    }

    fn finish(&mut self, conn: &mut Connection, cx: &mut Ctx) {
        if let Err(e) = conn.commit(&self.fh) {
            cx.error(format!("final COMMIT: {e}"));
        }
    }
}

/// One READDIRPLUS listing in progress.
struct Listing {
    cookie: u64,
    verf: [u8; 8],
    seen: Vec<u64>,
    count: usize,
}

impl Listing {
    fn new(n: usize) -> Listing {
        Listing {
            cookie: 0,
            verf: [0; 8],
            seen: vec![0; n.div_ceil(64)],
            count: 0,
        }
    }
    fn reset(&mut self) {
        self.cookie = 0;
        self.verf = [0; 8];
        self.seen.iter_mut().for_each(|w| *w = 0);
        self.count = 0;
    }
}

/// `depth` concurrent listings of a directory of `READDIR_FILES` names `f00000`..; each
/// listing checks at EOF that it saw every name exactly once.
struct ReaddirLoad {
    dir: Bytes,
    depth: usize,
    listings: Vec<Listing>,
    ready: Vec<usize>,
}

/// The index of a name `fNNNNN` below `n`.
fn listed_index(name: &[u8], n: usize) -> Option<usize> {
    let digits = name.strip_prefix(b"f")?;
    if digits.len() != 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let i = digits
        .iter()
        .fold(0usize, |a, &d| a * 10 + usize::from(d - b'0'));
    (i < n).then_some(i)
}

impl ReaddirLoad {
    fn page(&mut self, i: usize, result: Result<Bytes, ClientError>) -> Result<bool, ClientError> {
        let page = parse_readdirplus(&result?)?;
        let l = &mut self.listings[i];
        for e in &page.entries {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            let Some(k) = listed_index(&e.name, READDIR_FILES) else {
                return Err(ClientError::Protocol(format!(
                    "READDIRPLUS: unexpected name {:?}",
                    String::from_utf8_lossy(&e.name)
                )));
            };
            if l.seen[k / 64] & (1 << (k % 64)) != 0 {
                return Err(ClientError::Protocol(format!(
                    "READDIRPLUS: f{k:05} listed twice"
                )));
            }
            l.seen[k / 64] |= 1 << (k % 64);
            l.count += 1;
        }
        l.verf = page.cookieverf;
        match page.entries.last() {
            Some(last) => l.cookie = last.cookie,
            None if !page.eof => {
                return Err(ClientError::Protocol(
                    "READDIRPLUS: empty page without EOF".into(),
                ))
            }
            None => {}
        }
        if page.eof && l.count != READDIR_FILES {
            return Err(ClientError::Protocol(format!(
                "READDIRPLUS: {} entries at EOF, expected {READDIR_FILES}",
                l.count
            )));
        }
        Ok(page.eof)
    }
}

impl Load for ReaddirLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        let i = match self.ready.pop() {
            Some(i) => i,
            None if self.listings.len() < self.depth => {
                self.listings.push(Listing::new(READDIR_FILES));
                self.listings.len() - 1
            }
            None => return None,
        };
        let l = &self.listings[i];
        Some((
            i as u64,
            Request::Readdirplus {
                dir: self.dir.clone(),
                cookie: l.cookie,
                cookieverf: l.verf,
                dircount: 8192,
                maxcount: 65536,
            },
        ))
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let i = tag as usize;
        if i >= self.listings.len() {
            cx.error("reply for an unknown listing");
            return;
        }
        match self.page(i, result) {
            Ok(eof) => {
                cx.op_done(sent, 0);
                if eof {
                    self.listings[i].reset();
                }
            }
            Err(e) => {
                cx.error(e);
                self.listings[i].reset();
            }
        }
        self.ready.push(i);
    }
}

/// A mkdir d / create d/f / rename d/f d/g / remove d/g / rmdir d cycle.
struct Chain {
    iter: u64,
    stage: u8,
    sub: Option<Bytes>,
}

struct MixedLoad {
    dir: Bytes,
    depth: usize,
    chains: Vec<Chain>,
    ready: VecDeque<usize>,
}

impl MixedLoad {
    fn dname(i: usize, iter: u64) -> Bytes {
        Bytes::from(format!("d{i}.{iter}"))
    }

    fn request(&self, i: usize) -> Request {
        let c = &self.chains[i];
        let sub = c.sub.clone().unwrap_or_default();
        match c.stage {
            0 => Request::Mkdir {
                dir: self.dir.clone(),
                name: Self::dname(i, c.iter),
                mode: 0o755,
            },
            1 => Request::Create {
                dir: sub,
                name: Bytes::from_static(b"f"),
                mode: 0o644,
                guarded: true,
            },
            2 => Request::Rename {
                from_dir: sub.clone(),
                from: Bytes::from_static(b"f"),
                to_dir: sub,
                to: Bytes::from_static(b"g"),
            },
            3 => Request::Remove {
                dir: sub,
                name: Bytes::from_static(b"g"),
            },
            _ => Request::Rmdir {
                dir: self.dir.clone(),
                name: Self::dname(i, c.iter),
            },
        }
    }
}

impl Load for MixedLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        let i = match self.ready.pop_front() {
            Some(i) => i,
            None if self.chains.len() < self.depth => {
                self.chains.push(Chain {
                    iter: 0,
                    stage: 0,
                    sub: None,
                });
                self.chains.len() - 1
            }
            None => return None,
        };
        Some((i as u64, self.request(i)))
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let i = tag as usize;
        let Some(c) = self.chains.get_mut(i) else {
            cx.error("reply for an unknown chain");
            return;
        };
        let r = match c.stage {
            0 => made_ok(proc3::MKDIR, result).map(|fh| c.sub = Some(fh)),
            1 => made_ok(proc3::CREATE, result).map(|_| ()),
            2 => status_ok(proc3::RENAME, result),
            3 => status_ok(proc3::REMOVE, result),
            _ => status_ok(proc3::RMDIR, result),
        };
        match r {
            Ok(()) => {
                cx.op_done(sent, 0);
                if c.stage == 4 {
                    c.stage = 0;
                    c.iter += 1;
                    c.sub = None;
                } else {
                    c.stage += 1;
                }
            }
            Err(e) => {
                cx.error(format!("mixed stage {}: {e}", c.stage));
                // Start over under a fresh name; the half-done directory stays behind.
                c.stage = 0;
                c.iter += 1;
                c.sub = None;
            }
        }
        self.ready.push_back(i);
    }

    fn finish(&mut self, conn: &mut Connection, _cx: &mut Ctx) {
        // Best-effort cleanup of cycles the window cut short.
        for (i, c) in self.chains.iter().enumerate() {
            if c.stage == 0 {
                continue;
            }
            if let Some(sub) = &c.sub {
                let _ = conn.remove(sub, b"f");
                let _ = conn.remove(sub, b"g");
            }
            let _ = conn.rmdir(&self.dir, &Self::dname(i, c.iter));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Setup loads (run with the same driver, no deadline).

/// CREATE UNCHECKED of `names` in `dir`.
struct FillDir {
    dir: Bytes,
    names: std::vec::IntoIter<String>,
}

impl Load for FillDir {
    fn next(&mut self) -> Option<(u64, Request)> {
        let name = self.names.next()?;
        Some((
            0,
            Request::Create {
                dir: self.dir.clone(),
                name: Bytes::from(name),
                mode: 0o644,
                guarded: false,
            },
        ))
    }
    fn reply(&mut self, _: u64, _: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        if let Err(e) = made_ok(proc3::CREATE, result) {
            cx.error(format!("setup CREATE: {e}"));
        }
    }
}

/// Writes the whole large file with 1 MiB WRITE UNSTABLE calls.
struct FillFile {
    fh: Bytes,
    key: u64,
    size: u64,
    next_off: u64,
    last_report: Instant,
    done: u64,
}

impl Load for FillFile {
    fn next(&mut self) -> Option<(u64, Request)> {
        if self.next_off >= self.size {
            return None;
        }
        let off = self.next_off;
        let len = MIB.min(self.size - off);
        self.next_off += len;
        Some((
            len,
            Request::Write {
                fh: self.fh.clone(),
                offset: off,
                stable: StableHow::Unstable,
                data: content(self.key, off, len as usize),
            },
        ))
    }
    fn reply(&mut self, len: u64, _: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        match write_ok(result, len as usize) {
            Ok(n) => {
                cx.wrote(n);
                self.done += n;
            }
            Err(e) => cx.error(format!("setup WRITE: {e}")),
        }
        if self.last_report.elapsed() > Duration::from_secs(5) {
            self.last_report = Instant::now();
            eprintln!(
                "slatenfs-bench: setup: {} of {} MiB written",
                self.done / MIB,
                self.size / MIB
            );
        }
    }
}

/// Runs a setup load to completion; fails on its first error.
fn run_setup(conn: &mut Connection, load: &mut dyn Load, depth: usize) -> Result<u64, String> {
    let mut cx = Ctx::new(Instant::now() + Duration::from_secs(365 * 24 * 3600));
    drive(conn, load, depth, &mut cx);
    if cx.stats.errors > 0 {
        return Err(format!(
            "setup failed with {} errors: {}",
            cx.stats.errors,
            cx.stats.messages.join("; ")
        ));
    }
    Ok(cx.stats.written)
}

/// Whether `name` exists in `dir`.
fn exists(conn: &mut Connection, dir: &[u8], name: &[u8]) -> Result<bool, ClientError> {
    match conn.lookup(dir, name) {
        Ok(_) => Ok(true),
        Err(e) if e.nfs_status() == Some(Nfsstat3::Noent) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A file made by a complete earlier setup (marked by `<name>.ready`), or made now.
fn ensure_marker(
    conn: &mut Connection,
    dir: &[u8],
    name: &str,
    make: impl FnOnce(&mut Connection) -> Result<(), String>,
) -> Result<(), String> {
    let marker = format!("{name}.ready");
    if exists(conn, dir, marker.as_bytes()).map_err(|e| e.to_string())? {
        return Ok(());
    }
    make(conn)?;
    conn.create(dir, marker.as_bytes(), 0o644, false)
        .map_err(|e| format!("marker CREATE: {e}"))?;
    Ok(())
}

/// What the connections share after setup.
struct Prepared {
    dir: Bytes,
    /// The workload's file or directory, if it has one.
    target: Bytes,
    key: u64,
    size: u64,
    written: u64,
}

fn prepare(args: &Args, conn: &mut Connection, root: &[u8]) -> Result<Prepared, String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: ClientError| format!("{what}: {err}")
    };
    let dir = conn
        .mkdir_or_lookup(root, args.dir.as_bytes(), 0o755)
        .map_err(e("directory"))?;
    let mut prepared = Prepared {
        dir: Bytes::from(dir.clone()),
        target: Bytes::new(),
        key: 0,
        size: 0,
        written: 0,
    };
    let depth = args.depth.max(1);
    match args.workload {
        Workload::Getattr => {
            let name = b"getattr.file";
            let fh = match conn.lookup(&dir, name) {
                Ok((fh, _)) => fh,
                Err(err) if err.nfs_status() == Some(Nfsstat3::Noent) => {
                    conn.create(&dir, name, 0o644, false).map_err(e("CREATE"))?
                }
                Err(err) => return Err(format!("LOOKUP: {err}")),
            };
            prepared.target = Bytes::from(fh);
        }
        Workload::Lookup | Workload::Readdir => {
            let (name, n, width) = if args.workload == Workload::Lookup {
                ("lookup1000", LOOKUP_FILES, 4)
            } else {
                ("readdir10000", READDIR_FILES, 5)
            };
            let sub = conn
                .mkdir_or_lookup(&dir, name.as_bytes(), 0o755)
                .map_err(e("MKDIR"))?;
            let subb = Bytes::from(sub.clone());
            ensure_marker(conn, &dir, name, |conn| {
                eprintln!("slatenfs-bench: setup: creating {n} files in {name}");
                let names: Vec<String> = (0..n).map(|i| format!("f{i:0width$}")).collect();
                let mut fill = FillDir {
                    dir: subb.clone(),
                    names: names.into_iter(),
                };
                run_setup(conn, &mut fill, depth).map(|_| ())
            })?;
            prepared.target = Bytes::from(sub);
        }
        Workload::Seqread | Workload::Randread | Workload::Randwrite => {
            let size = args.file_mb.max(1) * MIB;
            let name = format!("big-{}M", args.file_mb.max(1));
            let key = file_key(name.as_bytes());
            let mut written = 0;
            ensure_marker(conn, &dir, &name, |conn| {
                eprintln!("slatenfs-bench: setup: writing {name} ({} MiB)", size / MIB);
                let fh = conn
                    .create(&dir, name.as_bytes(), 0o644, false)
                    .map_err(|err| format!("CREATE {name}: {err}"))?;
                let mut fill = FillFile {
                    fh: Bytes::from(fh.clone()),
                    key,
                    size,
                    next_off: 0,
                    last_report: Instant::now(),
                    done: 0,
                };
                written = run_setup(conn, &mut fill, depth)?;
                conn.commit(&fh)
                    .map_err(|err| format!("COMMIT {name}: {err}"))?;
                Ok(())
            })?;
            let (fh, attr) = conn.lookup(&dir, name.as_bytes()).map_err(e("LOOKUP"))?;
            if let Some(a) = attr {
                if a.size != size {
                    return Err(format!(
                        "{name} has {} bytes, expected {size}: remove the directory {} and retry",
                        a.size, args.dir
                    ));
                }
            }
            prepared.target = Bytes::from(fh);
            prepared.key = key;
            prepared.size = size;
            prepared.written = written;
        }
        Workload::Create | Workload::Seqwrite | Workload::Mixed => {}
    }
    Ok(prepared)
}

/// A fresh per-run, per-connection name prefix.
fn run_nonce() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{:x}", t ^ u64::from(std::process::id()) << 48)
}

fn make_load(
    args: &Args,
    p: &Prepared,
    conn: &mut Connection,
    index: usize,
    nonce: &str,
) -> Result<Box<dyn Load>, String> {
    let seed = args.seed ^ (index as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1);
    let per_conn_dir = |conn: &mut Connection, kind: &str| {
        let name = format!("{kind}.{nonce}.c{index}");
        conn.mkdir_or_lookup(&p.dir, name.as_bytes(), 0o755)
            .map(Bytes::from)
            .map_err(|e| format!("MKDIR {name}: {e}"))
    };
    Ok(match args.workload {
        Workload::Getattr => Box::new(GetattrLoad {
            fh: p.target.clone(),
        }),
        Workload::Lookup => Box::new(LookupLoad {
            dir: p.target.clone(),
            rng: Rng::new(seed),
        }),
        Workload::Create => Box::new(CreateLoad {
            dir: per_conn_dir(conn, "create")?,
            next_id: 0,
            ops: HashMap::new(),
            pending: VecDeque::new(),
        }),
        Workload::Seqwrite => Box::new(SeqWriteLoad {
            dir: p.dir.clone(),
            prefix: format!("seq.{nonce}.c{index}."),
            file_size: args.seqwrite_file_mb.max(1) * MIB,
            files: Vec::new(),
            current: None,
            creating: false,
            commits: VecDeque::new(),
            keep: args.keep,
        }),
        Workload::Seqread | Workload::Randread => {
            let start = (p.size / args.conns.max(1) as u64) * index as u64 / MIB * MIB;
            Box::new(ReadLoad {
                fh: p.target.clone(),
                key: p.key,
                size: p.size,
                random: (args.workload == Workload::Randread).then(|| Rng::new(seed)),
                pos: start,
            })
        }
        Workload::Randwrite => Box::new(RandWriteLoad {
            fh: p.target.clone(),
            key: p.key,
            size: p.size,
            rng: Rng::new(seed),
            since_commit: 0,
        }),
        Workload::Readdir => Box::new(ReaddirLoad {
            dir: p.target.clone(),
            depth: args.depth.max(1),
            listings: Vec::new(),
            ready: Vec::new(),
        }),
        Workload::Mixed => Box::new(MixedLoad {
            dir: per_conn_dir(conn, "mixed")?,
            depth: args.depth.max(1),
            chains: Vec::new(),
            ready: VecDeque::new(),
        }),
    })
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port}: no address"))
}

fn connect(addr: &SocketAddr, timeout: Duration, index: usize) -> Result<Connection, String> {
    let cred = auth_sys(0, 0, format!("slatenfs-bench-{index}").as_bytes());
    let mut conn = Connection::connect_timeout(addr, Duration::from_secs(10), cred)
        .map_err(|e| format!("connect {addr}: {e}"))?;
    conn.set_timeout(Some(timeout))
        .map_err(|e| format!("socket timeout: {e}"))?;
    Ok(conn)
}

fn json_line(args: &Args, stats: &Stats, written: u64) -> String {
    let secs = args.seconds.max(1e-9);
    format!(
        "{{\"workload\":\"{}\",\"ops\":{},\"seconds\":{:.3},\"ops_per_sec\":{:.1},\"mb_per_sec\":{:.3},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"errors\":{},\"client_bytes_written\":{}}}",
        args.workload.name(),
        stats.ops,
        args.seconds,
        stats.ops as f64 / secs,
        stats.bytes as f64 / secs / 1e6,
        stats.hist.quantile_ms(0.50),
        stats.hist.quantile_ms(0.99),
        stats.hist.quantile_ms(0.999),
        stats.errors,
        written,
    )
}

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
    match run(&args) {
        Ok((stats, setup_written)) => {
            for m in &stats.messages {
                eprintln!("slatenfs-bench: error: {m}");
            }
            if stats.errors > stats.messages.len() as u64 {
                eprintln!("slatenfs-bench: ... {} errors in all", stats.errors);
            }
            if !args.setup_only {
                println!(
                    "{}",
                    json_line(&args, &stats, stats.written + setup_written)
                );
            }
        }
        Err(e) => {
            eprintln!("slatenfs-bench: {e}");
            if !args.setup_only {
                let mut stats = Stats::new();
                stats.errors = 1;
                println!("{}", json_line(&args, &stats, 0));
            }
            std::process::exit(1);
        }
    }
}
