//! randwrite: 4 KiB WRITE UNSTABLE at random aligned offsets of the large file, of the contents
//! the file already has there (so reads keep verifying); a COMMIT every 1,024 WRITEs.

use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{ClientError, Connection, Request};
use slatenfs::proto::nfs3::proc3;

use super::SMALL_IO;
use crate::calls::{commit_file, status_ok, unstable_write};
use crate::pipeline::{Ctx, Load};
use crate::rng::Rng;

/// WRITEs per connection between COMMITs (4 MiB, like a client's writeback of a few dirty
/// MiB).
const COMMIT_EVERY: u64 = 1024;

/// The tag of a COMMIT (WRITEs are tagged with their offset, a multiple of 4 KiB).
const COMMIT_TAG: u64 = u64::MAX;

pub struct RandWriteLoad {
    fh: Bytes,
    key: u64,
    size: u64,
    rng: Rng,
    since_commit: u64,
}

impl RandWriteLoad {
    pub fn new(fh: Bytes, key: u64, size: u64, rng: Rng) -> RandWriteLoad {
        RandWriteLoad {
            fh,
            key,
            size,
            rng,
            since_commit: 0,
        }
    }
}

impl Load for RandWriteLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        if self.since_commit >= COMMIT_EVERY {
            self.since_commit = 0;
            return Some((COMMIT_TAG, commit_file(&self.fh)));
        }
        self.since_commit += 1;
        let offset = self.rng.below(self.size / SMALL_IO) * SMALL_IO;
        Some((offset, unstable_write(&self.fh, self.key, offset, SMALL_IO)))
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        if tag == COMMIT_TAG {
            if let Err(e) = status_ok(proc3::COMMIT, result) {
                cx.error(e);
            }
            return;
        }
        let written = cx.write_acknowledged(result, SMALL_IO as usize);
        cx.op_result(sent, written);
    }

    fn finish(&mut self, conn: &mut Connection, cx: &mut Ctx) {
        if let Err(e) = conn.commit(&self.fh) {
            cx.error(format!("final COMMIT: {e}"));
        }
    }
}
