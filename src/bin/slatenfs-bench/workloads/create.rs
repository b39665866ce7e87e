//! create: 4 KiB files, each CREATE + WRITE UNSTABLE + COMMIT (one op = the three calls), fresh
//! names in the connection's own directory.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{ClientError, Request};
use slatenfs::proto::nfs3::proc3;

use super::SMALL_IO;
use crate::calls::{commit_file, create_file, made_ok, status_ok, unstable_write};
use crate::content::file_key;
use crate::pipeline::{Ctx, Load};

/// The call of an op in flight.
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

pub struct CreateLoad {
    dir: Bytes,
    next_id: u64,
    /// Ops in flight by id (the tag of their calls).
    ops: HashMap<u64, CreateOp>,
    /// The next calls of ops whose previous call succeeded; sent before new ops start.
    pending: VecDeque<(u64, Request)>,
}

impl CreateLoad {
    pub fn new(dir: Bytes) -> CreateLoad {
        CreateLoad {
            dir,
            next_id: 0,
            ops: HashMap::new(),
            pending: VecDeque::new(),
        }
    }
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
        Some((id, create_file(&self.dir, name, true)))
    }

    fn reply(&mut self, id: u64, _: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let Some(op) = self.ops.get_mut(&id) else {
            cx.error("reply for an unknown create op");
            return;
        };
        let step = match op.stage {
            Stage::Create => made_ok(proc3::CREATE, result).map(|fh| {
                let write = unstable_write(&fh, file_key(&op.name), 0, SMALL_IO);
                op.fh = fh;
                op.stage = Stage::Write;
                Some(write)
            }),
            Stage::Write => cx.write_acknowledged(result, SMALL_IO as usize).map(|_| {
                op.stage = Stage::Commit;
                Some(commit_file(&op.fh))
            }),
            Stage::Commit => status_ok(proc3::COMMIT, result).map(|()| None),
        };
        match step {
            Ok(Some(req)) => self.pending.push_back((id, req)),
            Ok(None) => {
                let started = op.started;
                self.ops.remove(&id);
                cx.op_done(started, SMALL_IO);
            }
            Err(e) => {
                self.ops.remove(&id);
                cx.error(e);
            }
        }
    }
}
