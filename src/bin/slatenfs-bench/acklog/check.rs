//! Checks a server's state against the acknowledgement log: every acknowledged-durable byte
//! and namespace change is there; what was not acknowledged (or not made durable) is whole or
//! absent; nothing else is there.
//!
//! What the log makes durable (RFC 1813, metadata durable before the reply, no `--async`):
//! an acknowledged MKDIR, CREATE, RENAME, LINK, REMOVE or FILE_SYNC WRITE; an acknowledged
//! UNSTABLE WRITE once a later acknowledged COMMIT of the same file carries the same write
//! verifier. In doubt (whole or absent): the op whose reply never came (the server was
//! killed), one answered with an error, and UNSTABLE writes no COMMIT covered. A check writes
//! down what it found of each op in doubt (`X` lines), and later checks hold the state to it:
//! something seen after one restart must still be there after the next.
//!
//! Each worker writes its files at fresh, non-overlapping places, so every byte of a file
//! belongs to at most one write: a write is present (its bytes, CRC-checked) or absent (zeros,
//! and the file no longer because of it), and the bytes no write covers are zeros.

use std::collections::{BTreeMap, BTreeSet};

use slatenfs::netclient::Connection;
use slatenfs::proto::nfs3::Ftype3;

use super::log::{Event, Line, Op};

/// The ops of one worker of one round, in order: (seq, op, outcome).
struct Stream {
    ops: Vec<(u64, Op, Outcome)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Acknowledged, with the reply's write verifier (WRITE and COMMIT).
    Acked(Option<[u8; 8]>),
    /// A check found it applied or absent.
    Resolved(bool),
    /// No reply, or an error reply.
    InDoubt,
}

/// Groups the log into streams by (round, worker).
fn streams(lines: &[Line]) -> BTreeMap<(u32, u32), Stream> {
    let mut out: BTreeMap<(u32, u32), Stream> = BTreeMap::new();
    for l in lines {
        let s = out
            .entry((l.round, l.worker))
            .or_insert(Stream { ops: Vec::new() });
        match &l.event {
            Event::Intent(op) => s.ops.push((l.seq, op.clone(), Outcome::InDoubt)),
            Event::Ack(verf) => {
                if let Some(e) = s.ops.iter_mut().rev().find(|e| e.0 == l.seq) {
                    e.2 = Outcome::Acked(*verf);
                }
            }
            Event::Failed(_) => {}
            Event::Resolved(applied) => {
                if let Some(e) = s.ops.iter_mut().rev().find(|e| e.0 == l.seq) {
                    if e.2 == Outcome::InDoubt || matches!(e.2, Outcome::Acked(_)) {
                        e.2 = Outcome::Resolved(*applied);
                    }
                }
            }
        }
    }
    out
}

/// What the log says of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Must be there.
    Present,
    /// Must not be there.
    Absent,
    /// Either, whole; the seq of the op that decides it (written down as found).
    Either(u64),
}

#[derive(Debug, Clone, Copy)]
struct WriteRec {
    offset: u64,
    len: u64,
    crc: u32,
    expect: Expect,
}

/// A worker's directory as the log says it must be: path → file (None for a directory).
type Names = BTreeMap<String, Option<u64>>;

/// The expected state of a stream: the namespace candidates (one, or two when the last
/// namespace op is in doubt: without and with it, and the seq deciding it) and each file's
/// writes by wseq.
struct Expected {
    names: Vec<Names>,
    namespace_doubt: Option<u64>,
    writes: BTreeMap<u64, BTreeMap<u64, WriteRec>>,
    /// Ops whose effect the check verifies (acknowledged or resolved).
    verified_ops: u64,
}

fn apply(names: &mut Names, op: &Op) {
    match op {
        Op::Mkdir { path } => {
            names.insert(path.clone(), None);
        }
        Op::Create { path, file } => {
            names.insert(path.clone(), Some(*file));
        }
        Op::Rename { from, to } => {
            if let Some(f) = names.remove(from) {
                names.insert(to.clone(), f);
            }
        }
        Op::Link { path, new } => {
            if let Some(f) = names.get(path).copied() {
                names.insert(new.clone(), f);
            }
        }
        Op::Remove { path } => {
            names.remove(path);
        }
        Op::Write { .. } | Op::Commit { .. } => {}
    }
}

fn expected(s: &Stream) -> Expected {
    let mut names = Names::new();
    let mut doubt: Option<(u64, Op)> = None;
    let mut writes: BTreeMap<u64, BTreeMap<u64, WriteRec>> = BTreeMap::new();
    let mut verified_ops = 0;
    for (i, (seq, op, outcome)) in s.ops.iter().enumerate() {
        if let Op::Write {
            file,
            wseq,
            offset,
            len,
            crc,
            sync,
        } = op
        {
            let expect = match outcome {
                Outcome::Resolved(true) => Expect::Present,
                Outcome::Resolved(false) => Expect::Absent,
                Outcome::Acked(_) if *sync => Expect::Present,
                Outcome::Acked(verf) => {
                    let committed = s.ops[i + 1..].iter().any(|(_, later, o)| {
                        matches!(later, Op::Commit { file: f } if f == file)
                            && matches!(o, Outcome::Acked(v) if *v == *verf)
                    });
                    if committed {
                        Expect::Present
                    } else {
                        Expect::Either(*seq)
                    }
                }
                Outcome::InDoubt => Expect::Either(*seq),
            };
            let rec = WriteRec {
                offset: *offset,
                len: *len,
                crc: *crc,
                expect,
            };
            // A write sent again (its verifier changed before a COMMIT covered it) is the same
            // bytes at the same place: the strongest expectation of its instances holds.
            let slot = writes.entry(*file).or_default().entry(*wseq).or_insert(rec);
            slot.expect = match (slot.expect, expect) {
                (Expect::Present, _) | (_, Expect::Present) => Expect::Present,
                (Expect::Either(a), Expect::Either(_)) => Expect::Either(a),
                (Expect::Absent, e) | (e, Expect::Absent) => e,
            };
            if matches!(expect, Expect::Present) {
                verified_ops += 1;
            }
            continue;
        }
        match outcome {
            Outcome::Acked(_) | Outcome::Resolved(true) => {
                verified_ops += 1;
                apply(&mut names, op)
            }
            Outcome::Resolved(false) => {}
            Outcome::InDoubt => {
                if !matches!(op, Op::Commit { .. }) {
                    doubt = Some((*seq, op.clone()));
                }
            }
        }
    }
    let (candidates, namespace_doubt) = match doubt {
        None => (vec![names], None),
        Some((seq, op)) => {
            let mut with = names.clone();
            apply(&mut with, &op);
            (vec![names, with], Some(seq))
        }
    };
    Expected {
        names: candidates,
        namespace_doubt,
        writes,
        verified_ops,
    }
}

/// What the server holds under a worker's directory: path → (fileid, directory?, size,
/// handle).
type Found = BTreeMap<String, (u64, bool, u64, Vec<u8>)>;

fn walk(conn: &mut Connection, dir: &[u8], prefix: &str, out: &mut Found) -> Result<(), String> {
    let entries = conn
        .readdirplus_all(dir, 100_000)
        .map_err(|e| format!("READDIRPLUS {prefix}: {e}"))?;
    for e in entries {
        if e.name == b"." || e.name == b".." {
            continue;
        }
        let name = String::from_utf8_lossy(&e.name).into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let (fh, attr) = match (e.handle, e.attributes) {
            (Some(fh), Some(a)) => (fh, a),
            _ => {
                let (fh, attr) = conn
                    .lookup(dir, &e.name)
                    .map_err(|err| format!("LOOKUP {path}: {err}"))?;
                let attr = attr.ok_or_else(|| format!("LOOKUP {path}: no attributes"))?;
                (fh, attr)
            }
        };
        let is_dir = attr.ftype == Ftype3::Dir;
        out.insert(path.clone(), (attr.fileid, is_dir, attr.size, fh.clone()));
        if is_dir {
            walk(conn, &fh, &path, out)?;
        }
    }
    Ok(())
}

fn read_all(conn: &mut Connection, fh: &[u8], size: u64) -> Result<Vec<u8>, String> {
    let mut data = Vec::with_capacity(size as usize);
    while (data.len() as u64) < size {
        let r = conn
            .read(fh, data.len() as u64, 1 << 20)
            .map_err(|e| format!("READ: {e}"))?;
        if r.data.is_empty() {
            break;
        }
        data.extend_from_slice(&r.data);
    }
    Ok(data)
}

/// The findings of a check.
#[derive(Debug, Default)]
pub struct Findings {
    /// Streams (worker directories) checked.
    pub streams: u64,
    /// Acknowledged (or resolved) ops whose effect was verified.
    pub ops_verified: u64,
    /// Bytes of present writes verified.
    pub bytes_verified: u64,
    /// Ops in doubt whose outcome this check decided.
    pub resolved: Vec<Line>,
    /// What is wrong (acknowledged data or changes missing, state that no history explains).
    pub lost: Vec<String>,
}

/// Checks every stream of `lines` against the server under `base` (the handle of the
/// directory holding the workers' directories).
pub fn check(conn: &mut Connection, base: &[u8], lines: &[Line]) -> Result<Findings, String> {
    let mut f = Findings::default();
    for ((round, worker), stream) in streams(lines) {
        f.streams += 1;
        let dir_name = super::worker_dir(round, worker);
        let exp = expected(&stream);
        let mut found = Found::new();
        match conn.lookup(base, dir_name.as_bytes()) {
            Ok((fh, _)) => walk(conn, &fh, "", &mut found)?,
            Err(e) if stream.ops.iter().all(|(_, _, o)| *o == Outcome::InDoubt) => {
                // The worker died before its first reply: its directory may not exist.
                let _ = e;
                continue;
            }
            Err(e) => {
                f.lost.push(format!("{dir_name}: {e}"));
                continue;
            }
        }
        check_stream(conn, round, worker, &dir_name, &exp, &found, &mut f)?;
    }
    Ok(f)
}

fn check_stream(
    conn: &mut Connection,
    round: u32,
    worker: u32,
    dir_name: &str,
    exp: &Expected,
    found: &Found,
    f: &mut Findings,
) -> Result<(), String> {
    let resolve = |seq: u64, applied: bool| Line {
        round,
        worker,
        seq,
        event: Event::Resolved(applied),
    };
    // The namespace: the candidate whose paths are the ones found, with one server file per
    // logged file.
    let found_paths: BTreeSet<&String> = found.keys().collect();
    let matching = exp.names.iter().position(|names| {
        names.keys().collect::<BTreeSet<_>>() == found_paths
            && names.iter().all(|(p, file)| found[p].1 == file.is_none())
            && same_identities(names, found)
    });
    let Some(candidate) = matching else {
        let want: BTreeSet<&String> = exp.names[0].keys().collect();
        let missing: Vec<&&String> = want.difference(&found_paths).take(10).collect();
        let unexpected: Vec<&&String> = found_paths.difference(&want).take(10).collect();
        f.lost.push(format!(
            "{dir_name}: the names are not the acknowledged ones{}: missing {missing:?}, \
             not acknowledged {unexpected:?} (at most 10 of each; or a file's names are split)",
            if exp.names.len() > 1 {
                " (nor those plus the op in doubt)"
            } else {
                ""
            }
        ));
        return Ok(());
    };
    if let Some(seq) = exp.namespace_doubt {
        f.resolved.push(resolve(seq, candidate == 1));
    }
    f.ops_verified += exp.verified_ops;
    let names = &exp.names[candidate];
    // The data of every file that still has a name.
    let mut checked = BTreeSet::new();
    for (path, file) in names {
        let Some(file) = file else { continue };
        if !checked.insert(*file) {
            continue;
        }
        let (_, _, size, fh) = &found[path];
        let data = read_all(conn, fh, *size)?;
        let mut covered = vec![false; data.len()];
        let mut end = 0u64;
        for (wseq, w) in exp.writes.get(file).into_iter().flatten() {
            let (start, stop) = (w.offset as usize, (w.offset + w.len) as usize);
            let region = data.get(start..stop.min(data.len())).unwrap_or(&[]);
            let present = region.len() as u64 == w.len && crc32fast::hash(region) == w.crc;
            let absent = region.iter().all(|b| *b == 0);
            for c in covered.iter_mut().take(stop.min(data.len())).skip(start) {
                *c = true;
            }
            let ok = match w.expect {
                Expect::Present => present,
                Expect::Absent => absent,
                Expect::Either(seq) => {
                    if present || absent {
                        f.resolved.push(resolve(seq, present && !absent));
                    }
                    present || absent
                }
            };
            if present {
                f.bytes_verified += w.len;
                end = end.max(w.offset + w.len);
            }
            if !ok {
                f.lost.push(format!(
                    "{dir_name}/{path}: write {wseq} ({} bytes at {}) is {:?} but the file holds \
                     {}",
                    w.len,
                    w.offset,
                    w.expect,
                    if absent { "zeros" } else { "other bytes" }
                ));
            }
        }
        if *size != end {
            f.lost.push(format!(
                "{dir_name}/{path}: size {size}, but the writes present end at {end}"
            ));
        }
        if let Some(at) = data.iter().zip(&covered).position(|(b, c)| !*c && *b != 0) {
            f.lost.push(format!(
                "{dir_name}/{path}: byte {at} is not zero, and no write covers it"
            ));
        }
    }
    Ok(())
}

/// Whether the names of each logged file are names of one server file, and different logged
/// files are different server files.
fn same_identities(names: &Names, found: &Found) -> bool {
    let mut by_file: BTreeMap<u64, u64> = BTreeMap::new();
    let mut by_server: BTreeMap<u64, u64> = BTreeMap::new();
    for (path, file) in names {
        let Some(file) = file else { continue };
        let fileid = found[path].0;
        if *by_file.entry(*file).or_insert(fileid) != fileid
            || *by_server.entry(fileid).or_insert(*file) != *file
        {
            return false;
        }
    }
    true
}
