//! Everything a workload needs made before timing starts: the run's directory, the file of
//! getattr, the directories of numbered files of lookup and readdir, the large data file of
//! seqread / randread / randwrite. What a complete earlier setup made is reused.

use std::time::{Duration, Instant};

use bytes::Bytes;

use slatenfs::netclient::{ClientError, Connection, Request};
use slatenfs::proto::nfs3::{proc3, Nfsstat3};

use crate::calls::{create_file, made_ok, unstable_write, DIR_MODE, FILE_MODE};
use crate::content::file_key;
use crate::pipeline::{drive, Ctx, Load};
use crate::workloads::{Pieces, Workload, MIB};
use crate::Args;

/// A directory of `files` names `f0..`, zero-padded to `width` digits.
pub struct NumberedDir {
    /// Its name in the run's directory.
    pub name: &'static str,
    pub files: usize,
    width: usize,
}

/// The directory lookup looks names up in.
pub const LOOKUP_DIR: NumberedDir = NumberedDir {
    name: "lookup1000",
    files: 1000,
    width: 4,
};

/// The directory readdir lists.
pub const READDIR_DIR: NumberedDir = NumberedDir {
    name: "readdir10000",
    files: 10_000,
    width: 5,
};

impl NumberedDir {
    /// The name of entry `i`.
    pub fn entry(&self, i: usize) -> String {
        format!("f{i:0width$}", width = self.width)
    }

    /// The index of an entry's `name`, if it is one of this directory's names.
    pub fn index_of(&self, name: &[u8]) -> Option<usize> {
        let digits = name.strip_prefix(b"f")?;
        if digits.len() != self.width || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let i = digits
            .iter()
            .fold(0usize, |a, &d| a * 10 + usize::from(d - b'0'));
        (i < self.files).then_some(i)
    }
}

/// CREATE UNCHECKED of `names` in `dir`.
struct FillDir {
    dir: Bytes,
    names: std::vec::IntoIter<String>,
}

impl Load for FillDir {
    fn next(&mut self) -> Option<(u64, Request)> {
        let name = self.names.next()?;
        Some((0, create_file(&self.dir, Bytes::from(name), false)))
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
    pieces: Pieces,
    last_report: Instant,
    done: u64,
}

impl Load for FillFile {
    fn next(&mut self) -> Option<(u64, Request)> {
        let (offset, len) = self.pieces.next_piece()?;
        Some((len, unstable_write(&self.fh, self.key, offset, len)))
    }

    fn reply(&mut self, len: u64, _: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        match cx.write_acknowledged(result, len as usize) {
            Ok(n) => self.done += n,
            Err(e) => cx.error(format!("setup WRITE: {e}")),
        }
        if self.last_report.elapsed() > Duration::from_secs(5) {
            self.last_report = Instant::now();
            eprintln!(
                "slatenfs-bench: setup: {} of {} MiB written",
                self.done / MIB,
                self.pieces.size() / MIB
            );
        }
    }
}

/// Runs a setup load to completion; fails on its first error. The WRITE bytes acknowledged.
fn run_setup(conn: &mut Connection, load: &mut dyn Load, depth: usize) -> Result<u64, String> {
    let no_deadline = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let mut cx = Ctx::new(no_deadline);
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

/// The handle of `name` in `dir`, or `None` when there is no such name.
fn lookup_if_exists(
    conn: &mut Connection,
    dir: &[u8],
    name: &[u8],
) -> Result<Option<Vec<u8>>, ClientError> {
    match conn.lookup(dir, name) {
        Ok((fh, _)) => Ok(Some(fh)),
        Err(e) if e.nfs_status() == Some(Nfsstat3::Noent) => Ok(None),
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
    if lookup_if_exists(conn, dir, marker.as_bytes())
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(());
    }
    make(conn)?;
    conn.create(dir, marker.as_bytes(), FILE_MODE, false)
        .map_err(|e| format!("marker CREATE: {e}"))?;
    Ok(())
}

/// What the connections share after setup.
pub struct Prepared {
    /// The run's directory (`--dir`).
    pub dir: Bytes,
    /// The workload's file or directory, if it has one.
    pub target: Bytes,
    /// Contents key of the large file.
    pub key: u64,
    /// Size of the large file.
    pub size: u64,
    /// WRITE bytes the setup had acknowledged.
    pub written: u64,
}

/// Makes (or finds from an earlier run) what `args.workload` needs, over `conn`, under the
/// export's `root`.
pub fn prepare(args: &Args, conn: &mut Connection, root: &[u8]) -> Result<Prepared, String> {
    let failed = |what: &str| {
        let what = what.to_string();
        move |err: ClientError| format!("{what}: {err}")
    };
    let dir = conn
        .mkdir_or_lookup(root, args.dir.as_bytes(), DIR_MODE)
        .map_err(failed("directory"))?;
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
            let fh = match lookup_if_exists(conn, &dir, name).map_err(failed("LOOKUP"))? {
                Some(fh) => fh,
                None => conn
                    .create(&dir, name, FILE_MODE, false)
                    .map_err(failed("CREATE"))?,
            };
            prepared.target = Bytes::from(fh);
        }
        Workload::Lookup | Workload::Readdir => {
            let numbered = if args.workload == Workload::Lookup {
                &LOOKUP_DIR
            } else {
                &READDIR_DIR
            };
            let (name, n) = (numbered.name, numbered.files);
            let sub = conn
                .mkdir_or_lookup(&dir, name.as_bytes(), DIR_MODE)
                .map_err(failed("MKDIR"))?;
            let sub = Bytes::from(sub);
            ensure_marker(conn, &dir, name, |conn| {
                eprintln!("slatenfs-bench: setup: creating {n} files in {name}");
                let names: Vec<String> = (0..n).map(|i| numbered.entry(i)).collect();
                let mut fill = FillDir {
                    dir: sub.clone(),
                    names: names.into_iter(),
                };
                run_setup(conn, &mut fill, depth).map(|_| ())
            })?;
            prepared.target = sub;
        }
        Workload::Seqread | Workload::Randread | Workload::Randwrite => {
            let size = args.file_mb.max(1) * MIB;
            let name = format!("big-{}M", args.file_mb.max(1));
            let key = file_key(name.as_bytes());
            let mut written = 0;
            ensure_marker(conn, &dir, &name, |conn| {
                eprintln!("slatenfs-bench: setup: writing {name} ({} MiB)", size / MIB);
                let fh = conn
                    .create(&dir, name.as_bytes(), FILE_MODE, false)
                    .map_err(|err| format!("CREATE {name}: {err}"))?;
                let mut fill = FillFile {
                    fh: Bytes::from(fh.clone()),
                    key,
                    pieces: Pieces::new(size),
                    last_report: Instant::now(),
                    done: 0,
                };
                written = run_setup(conn, &mut fill, depth)?;
                conn.commit(&fh)
                    .map_err(|err| format!("COMMIT {name}: {err}"))?;
                Ok(())
            })?;
            let (fh, attr) = conn
                .lookup(&dir, name.as_bytes())
                .map_err(failed("LOOKUP"))?;
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
        Workload::Create
        | Workload::Seqwrite
        | Workload::Mixed
        | Workload::Ack
        | Workload::StoreRead => {}
    }
    Ok(prepared)
}
