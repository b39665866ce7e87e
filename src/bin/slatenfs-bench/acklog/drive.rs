//! The load of a durability campaign: workers (one connection each, one call at a time, in a
//! directory of their own) doing CREATE, MKDIR, WRITE UNSTABLE, COMMIT, WRITE FILE_SYNC,
//! RENAME, LINK and REMOVE at random, writing each call's intent and each acknowledgement to
//! the log before the next call leaves.
//!
//! A worker stops when its connection fails (the server was killed), when a call is answered
//! with an error other than JUKEBOX (logged: the outcome is in doubt), or when its time is up.
//! JUKEBOX ("try again later") is retried, as the Linux client does, with a new xid. A COMMIT
//! whose verifier differs from that of a write it should cover means the write may be lost:
//! the worker sends it again and commits again, as the Linux client does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use slatenfs::netclient::{ClientError, Connection};
use slatenfs::proto::nfs3::{Nfsstat3, StableHow};

use super::log::{Appender, Event, Line, Op};
use crate::calls::{DIR_MODE, FILE_MODE};
use crate::content::{content, file_key};
use crate::rng::Rng;

/// What the workers of one round are asked to do.
pub struct Plan {
    pub round: u32,
    pub workers: u32,
    pub seed: u64,
    /// How long the workers run at most.
    pub window: Duration,
    /// How long a call answered JUKEBOX is retried before the worker gives up on it.
    pub jukebox_limit: Duration,
    /// Bytes a worker writes at most in the round (bounds what checks read back).
    pub bytes_per_worker: u64,
}

/// What the workers did.
#[derive(Debug, Default, Clone, Copy)]
pub struct DriveStats {
    pub ops_acked: u64,
    pub bytes_acked: u64,
    pub jukebox_retries: u64,
    /// Calls answered with an error other than JUKEBOX.
    pub failed: u64,
    /// Workers whose connection failed.
    pub disconnected: u64,
}

impl DriveStats {
    fn add(&mut self, o: &DriveStats) {
        self.ops_acked += o.ops_acked;
        self.bytes_acked += o.bytes_acked;
        self.jukebox_retries += o.jukebox_retries;
        self.failed += o.failed;
        self.disconnected += o.disconnected;
    }
}

/// Why a worker stopped calling.
enum Stop {
    /// The connection failed.
    Transport,
    /// An error answer (logged).
    Failed,
    /// The log cannot be written.
    Log(String),
}

struct FileState {
    fh: Vec<u8>,
    next_offset: u64,
    next_wseq: u64,
    /// UNSTABLE writes acknowledged and not yet covered by a COMMIT: (op, verifier).
    pending: Vec<(Op, [u8; 8])>,
}

struct Worker<'a> {
    conn: Connection,
    plan: &'a Plan,
    id: u32,
    log: &'a Mutex<Appender>,
    rng: Rng,
    seq: u64,
    /// Directory path ("" for the worker's own) → handle.
    dirs: Vec<(String, Vec<u8>)>,
    /// File path → file number.
    names: BTreeMap<String, u64>,
    files: BTreeMap<u64, FileState>,
    next_number: u64,
    written: u64,
    stats: DriveStats,
}

/// The name part of a path, and its directory's handle.
fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", path),
    }
}

/// The contents of write `wseq` of file `file` of a worker.
pub fn write_key(round: u32, worker: u32, file: u64, wseq: u64) -> u64 {
    file_key(format!("{round}/{worker}/{file}/{wseq}").as_bytes())
}

impl Worker<'_> {
    fn log(&self, seq: u64, event: Event) -> Result<(), Stop> {
        let line = Line {
            round: self.plan.round,
            worker: self.id,
            seq,
            event,
        };
        self.log
            .lock()
            .map_err(|_| Stop::Log("ack log lock poisoned".into()))?
            .append(&line)
            .map_err(Stop::Log)
    }

    /// Makes a call, retrying JUKEBOX.
    fn call<T>(
        &mut self,
        mut f: impl FnMut(&mut Connection) -> Result<T, ClientError>,
    ) -> Result<T, Result<ClientError, ClientError>> {
        let start = Instant::now();
        loop {
            match f(&mut self.conn) {
                Ok(v) => return Ok(v),
                Err(e)
                    if e.nfs_status() == Some(Nfsstat3::Jukebox)
                        && start.elapsed() < self.plan.jukebox_limit =>
                {
                    self.stats.jukebox_retries += 1;
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) if e.is_call_error() => return Err(Ok(e)),
                Err(e) => return Err(Err(e)),
            }
        }
    }

    /// Logs the intent of `op`, makes it with `f`, logs the answer.
    fn op<T>(
        &mut self,
        op: Op,
        f: impl FnMut(&mut Connection) -> Result<T, ClientError>,
        verifier: impl FnOnce(&T) -> Option<[u8; 8]>,
    ) -> Result<T, Stop> {
        self.seq += 1;
        let seq = self.seq;
        self.log(seq, Event::Intent(op))?;
        match self.call(f) {
            Ok(v) => {
                self.log(seq, Event::Ack(verifier(&v)))?;
                self.stats.ops_acked += 1;
                Ok(v)
            }
            Err(Ok(e)) => {
                self.stats.failed += 1;
                eprintln!(
                    "slatenfs-bench: worker {} of round {}: {e}",
                    self.id, self.plan.round
                );
                self.log(seq, Event::Failed(e.to_string().replace(' ', "_")))?;
                Err(Stop::Failed)
            }
            Err(Err(_)) => {
                self.stats.disconnected += 1;
                Err(Stop::Transport)
            }
        }
    }

    fn dir_handle(&self, dir: &str) -> Vec<u8> {
        self.dirs
            .iter()
            .find(|(d, _)| d == dir)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }

    fn fresh_path(&mut self, prefix: char) -> String {
        self.next_number += 1;
        let dir = &self.dirs[self.rng.below(self.dirs.len() as u64) as usize].0;
        if dir.is_empty() {
            format!("{prefix}{}", self.next_number)
        } else {
            format!("{dir}/{prefix}{}", self.next_number)
        }
    }

    fn any_name(&mut self) -> Option<(String, u64)> {
        if self.names.is_empty() {
            return None;
        }
        let i = self.rng.below(self.names.len() as u64) as usize;
        self.names.iter().nth(i).map(|(p, f)| (p.clone(), *f))
    }

    fn mkdir(&mut self, path: String) -> Result<(), Stop> {
        let (d, n) = split(&path);
        let (dh, n) = (self.dir_handle(d), n.to_string());
        let fh = self.op(
            Op::Mkdir { path: path.clone() },
            |c| c.mkdir(&dh, n.as_bytes(), DIR_MODE),
            |_| None,
        )?;
        self.dirs.push((path, fh));
        Ok(())
    }

    fn create(&mut self) -> Result<(), Stop> {
        let path = self.fresh_path('f');
        let file = self.next_number;
        let (d, n) = split(&path);
        let (dh, n) = (self.dir_handle(d), n.to_string());
        let fh = self.op(
            Op::Create {
                path: path.clone(),
                file,
            },
            |c| c.create(&dh, n.as_bytes(), FILE_MODE, true),
            |_| None,
        )?;
        self.names.insert(path, file);
        self.files.insert(
            file,
            FileState {
                fh,
                next_offset: 0,
                next_wseq: 0,
                pending: Vec::new(),
            },
        );
        Ok(())
    }

    fn write(&mut self, sync: bool) -> Result<(), Stop> {
        let Some((_, file)) = self.any_name() else {
            return self.create();
        };
        if self.written >= self.plan.bytes_per_worker {
            return self.commit(file);
        }
        let gap = if self.rng.below(10) < 6 {
            0
        } else {
            self.rng.below(100 << 10) & !7
        };
        let len = 1 + self.rng.below(128 << 10);
        let Some(st) = self.files.get_mut(&file) else {
            return Ok(());
        };
        let offset = st.next_offset + gap;
        st.next_offset = (offset + len + 7) & !7;
        st.next_wseq += 1;
        let wseq = st.next_wseq;
        let data = content(
            write_key(self.plan.round, self.id, file, wseq),
            offset,
            len as usize,
        );
        let op = Op::Write {
            file,
            wseq,
            offset,
            len,
            crc: crc32fast::hash(&data),
            sync,
        };
        self.written += len;
        self.send_write(file, op, data)
    }

    /// Sends the write `op` of `data` (again, when a COMMIT showed it may be lost).
    fn send_write(&mut self, file: u64, op: Op, data: Bytes) -> Result<(), Stop> {
        let Op::Write {
            offset, sync, len, ..
        } = op
        else {
            return Ok(());
        };
        let fh = self
            .files
            .get(&file)
            .map(|s| s.fh.clone())
            .unwrap_or_default();
        let stable = if sync {
            StableHow::FileSync
        } else {
            StableHow::Unstable
        };
        let ok = self.op(
            op.clone(),
            |c| c.write(&fh, offset, stable, data.clone()),
            |ok| Some(ok.verf),
        )?;
        self.stats.bytes_acked += len;
        if ok.committed == StableHow::Unstable {
            if let Some(st) = self.files.get_mut(&file) {
                st.pending.push((op, ok.verf));
            }
        }
        Ok(())
    }

    fn commit(&mut self, file: u64) -> Result<(), Stop> {
        for _ in 0..5 {
            let fh = self
                .files
                .get(&file)
                .map(|s| s.fh.clone())
                .unwrap_or_default();
            let verf = self.op(Op::Commit { file }, |c| c.commit(&fh), |v| Some(*v))?;
            let Some(st) = self.files.get_mut(&file) else {
                return Ok(());
            };
            let resend: Vec<Op> = std::mem::take(&mut st.pending)
                .into_iter()
                .filter(|(_, v)| *v != verf)
                .map(|(op, _)| op)
                .collect();
            if resend.is_empty() {
                return Ok(());
            }
            for op in resend {
                if let Op::Write {
                    wseq, offset, len, ..
                } = op
                {
                    let data = content(
                        write_key(self.plan.round, self.id, file, wseq),
                        offset,
                        len as usize,
                    );
                    self.send_write(file, op, data)?;
                }
            }
        }
        Ok(())
    }

    fn rename(&mut self) -> Result<(), Stop> {
        let Some((from, file)) = self.any_name() else {
            return self.create();
        };
        // Now and then onto another file's name, which that file then loses.
        let onto = self
            .any_name()
            .filter(|(p, f)| *f != file && p != &from && self.rng.below(5) == 0);
        let to = match onto {
            Some((p, _)) => p,
            None => self.fresh_path('n'),
        };
        let (fd, fname) = split(&from);
        let (td, tname) = split(&to);
        let (fdh, tdh) = (self.dir_handle(fd), self.dir_handle(td));
        let (fname, tname) = (fname.to_string(), tname.to_string());
        self.op(
            Op::Rename {
                from: from.clone(),
                to: to.clone(),
            },
            |c| c.rename(&fdh, fname.as_bytes(), &tdh, tname.as_bytes()),
            |_| None,
        )?;
        self.names.remove(&from);
        if let Some(replaced) = self.names.insert(to, file) {
            self.forget_if_unnamed(replaced);
        }
        Ok(())
    }

    /// Forgets file `file` if no name is left to reach it by.
    fn forget_if_unnamed(&mut self, file: u64) {
        if !self.names.values().any(|f| *f == file) {
            self.files.remove(&file);
        }
    }

    fn link(&mut self) -> Result<(), Stop> {
        let Some((path, file)) = self.any_name() else {
            return self.create();
        };
        let new = self.fresh_path('l');
        let fh = self
            .files
            .get(&file)
            .map(|s| s.fh.clone())
            .unwrap_or_default();
        let (d, n) = split(&new);
        let (dh, n) = (self.dir_handle(d), n.to_string());
        self.op(
            Op::Link {
                path,
                new: new.clone(),
            },
            |c| c.link(&fh, &dh, n.as_bytes()),
            |_| None,
        )?;
        self.names.insert(new, file);
        Ok(())
    }

    fn remove(&mut self) -> Result<(), Stop> {
        let Some((path, file)) = self.any_name() else {
            return self.create();
        };
        let (d, n) = split(&path);
        let (dh, n) = (self.dir_handle(d), n.to_string());
        self.op(
            Op::Remove { path: path.clone() },
            |c| c.remove(&dh, n.as_bytes()),
            |_| None,
        )?;
        self.names.remove(&path);
        self.forget_if_unnamed(file);
        Ok(())
    }

    fn step(&mut self) -> Result<(), Stop> {
        match self.rng.below(100) {
            0..=14 => self.create(),
            15..=39 => self.write(false),
            40..=49 => match self.any_name() {
                Some((_, f)) => self.commit(f),
                None => self.create(),
            },
            50..=64 => self.write(true),
            65..=76 => self.rename(),
            77..=84 => self.link(),
            85..=95 => self.remove(),
            _ => {
                self.next_number += 1;
                let path = format!("d{}", self.next_number);
                self.mkdir(path)
            }
        }
    }
}

/// Runs worker `id` of `plan` in its directory under `base` until it stops.
fn run_worker(
    addr: SocketAddr,
    base: &[u8],
    plan: &Plan,
    id: u32,
    log: &Mutex<Appender>,
) -> Result<DriveStats, String> {
    let conn = crate::connect(&addr, Duration::from_secs(60), id as usize)?;
    let mut w = Worker {
        conn,
        plan,
        id,
        log,
        rng: Rng::new(plan.seed ^ (u64::from(plan.round) << 32) ^ u64::from(id)),
        seq: 0,
        dirs: Vec::new(),
        names: BTreeMap::new(),
        files: BTreeMap::new(),
        next_number: 0,
        written: 0,
        stats: DriveStats::default(),
    };
    let own = super::worker_dir(plan.round, id);
    let dir = match w.call(|c| c.mkdir_or_lookup(base, own.as_bytes(), DIR_MODE)) {
        Ok(fh) => fh,
        Err(_) => {
            w.stats.disconnected += 1;
            return Ok(w.stats);
        }
    };
    w.dirs.push((String::new(), dir));
    let start = Instant::now();
    let mut result = w.mkdir("a".into()).and_then(|_| w.mkdir("b".into()));
    while result.is_ok() && start.elapsed() < plan.window {
        result = w.step();
    }
    match result {
        Err(Stop::Log(e)) => Err(e),
        _ => Ok(w.stats),
    }
}

/// Runs the round's workers on threads until they all stopped.
pub fn drive(
    addr: SocketAddr,
    base: &[u8],
    plan: &Plan,
    log: &Mutex<Appender>,
) -> Result<DriveStats, String> {
    let mut total = DriveStats::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..plan.workers)
            .map(|id| s.spawn(move || run_worker(addr, base, plan, id, log)))
            .collect();
        for h in handles {
            match h.join() {
                Ok(Ok(st)) => total.add(&st),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("a worker panicked".into()),
            }
        }
        Ok(total)
    })
}
