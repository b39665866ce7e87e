//! The workload kinds, one module each: which calls a workload keeps in flight on a connection
//! and how it checks their replies. Also the pieces more than one of them is built from.

mod create;
mod getattr;
mod lookup;
mod mixed;
mod randwrite;
mod read;
mod readdir;
mod seqwrite;

use std::collections::VecDeque;

use bytes::Bytes;
use clap::ValueEnum;

use slatenfs::netclient::Connection;

use crate::calls::DIR_MODE;
use crate::pipeline::Load;
use crate::rng::Rng;
use crate::setup::Prepared;
use crate::Args;

pub const MIB: u64 = 1 << 20;
/// Size of create's files and of the random READs and WRITEs.
pub const SMALL_IO: u64 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
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
    /// The durability campaign's load: every acknowledgement logged to --ack-log (one round,
    /// --round); with --check, checks the server's state against the log instead.
    Ack,
    /// Ranged GETs (--get-kb) of the largest tables in --storage, straight from the object
    /// store with no server: seqread's reference (see `storeread`; one op = one GET).
    StoreRead,
}

impl Workload {
    /// The name in the JSON line (the same as on the command line).
    pub fn name(self) -> &'static str {
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
            Workload::Ack => "ack",
            Workload::StoreRead => "store-read",
        }
    }
}

/// The load of connection `index`: its own random seed, and its own names (with the run's
/// `nonce`) where it makes files, so connections and runs never collide.
pub fn make_load(
    args: &Args,
    p: &Prepared,
    conn: &mut Connection,
    index: usize,
    nonce: &str,
) -> Result<Box<dyn Load>, String> {
    let seed = args.seed ^ (index as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1);
    let own_name = |kind: &str| format!("{kind}.{nonce}.c{index}");
    let own_dir = |conn: &mut Connection, kind: &str| {
        let name = own_name(kind);
        conn.mkdir_or_lookup(&p.dir, name.as_bytes(), DIR_MODE)
            .map(Bytes::from)
            .map_err(|e| format!("MKDIR {name}: {e}"))
    };
    let depth = args.depth.max(1);
    Ok(match args.workload {
        Workload::Getattr => Box::new(getattr::GetattrLoad::new(p.target.clone())),
        Workload::Lookup => Box::new(lookup::LookupLoad::new(p.target.clone(), Rng::new(seed))),
        Workload::Create => Box::new(create::CreateLoad::new(own_dir(conn, "create")?)),
        Workload::Seqwrite => Box::new(seqwrite::SeqWriteLoad::new(
            p.dir.clone(),
            format!("{}.", own_name("seq")),
            args.seqwrite_file_mb.max(1) * MIB,
            args.keep,
        )),
        Workload::Seqread => {
            let start = (p.size / args.conns.max(1) as u64) * index as u64 / MIB * MIB;
            Box::new(read::ReadLoad::sequential(
                p.target.clone(),
                p.key,
                p.size,
                start,
            ))
        }
        Workload::Randread => Box::new(read::ReadLoad::random(
            p.target.clone(),
            p.key,
            p.size,
            Rng::new(seed),
        )),
        Workload::Randwrite => Box::new(randwrite::RandWriteLoad::new(
            p.target.clone(),
            p.key,
            p.size,
            Rng::new(seed),
        )),
        Workload::Readdir => Box::new(readdir::ReaddirLoad::new(p.target.clone(), depth)),
        Workload::Mixed => Box::new(mixed::MixedLoad::new(own_dir(conn, "mixed")?, depth)),
        Workload::Ack | Workload::StoreRead => {
            return Err(format!("{} is not a pipelined load", args.workload.name()))
        }
    })
}

/// The 1 MiB pieces of a file of `size` bytes, in order.
pub struct Pieces {
    next_offset: u64,
    size: u64,
}

impl Pieces {
    pub fn new(size: u64) -> Pieces {
        Pieces {
            next_offset: 0,
            size,
        }
    }

    /// (offset, length) of the next piece, `None` past the end.
    pub fn next_piece(&mut self) -> Option<(u64, u64)> {
        if self.next_offset >= self.size {
            return None;
        }
        let offset = self.next_offset;
        let len = MIB.min(self.size - offset);
        self.next_offset += len;
        Some((offset, len))
    }

    /// Whether every piece has been handed out.
    pub fn all_issued(&self) -> bool {
        self.next_offset >= self.size
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Up to `depth` independent sequences of calls with one call in flight each (a listing, a
/// chain of directory ops); the index of a slot is the tag of its call.
struct Slots<T> {
    depth: usize,
    items: Vec<T>,
    /// Slots whose reply arrived, in arrival order.
    ready: VecDeque<usize>,
}

impl<T> Slots<T> {
    fn new(depth: usize) -> Slots<T> {
        Slots {
            depth,
            items: Vec::new(),
            ready: VecDeque::new(),
        }
    }

    /// The slot to send from next: one whose reply arrived, else a new one from `make` while
    /// fewer than `depth` exist.
    fn next_free(&mut self, make: impl FnOnce() -> T) -> Option<usize> {
        if let Some(i) = self.ready.pop_front() {
            return Some(i);
        }
        if self.items.len() < self.depth {
            self.items.push(make());
            return Some(self.items.len() - 1);
        }
        None
    }

    /// Slot `i` may send again.
    fn release(&mut self, i: usize) {
        self.ready.push_back(i);
    }
}
