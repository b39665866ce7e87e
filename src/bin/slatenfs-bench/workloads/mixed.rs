//! mixed: namespace churn, `depth` chains per connection each cycling through mkdir d /
//! create d/f / rename d/f d/g / remove d/g / rmdir d (one op = one call), in the connection's
//! own directory.

use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{ClientError, Connection, Request};
use slatenfs::proto::nfs3::proc3;

use super::Slots;
use crate::calls::{create_file, made_ok, status_ok, DIR_MODE};
use crate::pipeline::{Ctx, Load};

/// The call of a chain in flight, in cycle order (numbered from 0 in error messages).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Mkdir,
    Create,
    Rename,
    Remove,
    Rmdir,
}

impl Stage {
    /// The stage after this one in the cycle; `None` after the last.
    fn following(self) -> Option<Stage> {
        match self {
            Stage::Mkdir => Some(Stage::Create),
            Stage::Create => Some(Stage::Rename),
            Stage::Rename => Some(Stage::Remove),
            Stage::Remove => Some(Stage::Rmdir),
            Stage::Rmdir => None,
        }
    }
}

/// One chain: the cycle it is in (its directory is `d<chain>.<cycle>`) and the call it is at.
struct Chain {
    cycle: u64,
    stage: Stage,
    /// The cycle's directory, once made.
    sub: Option<Bytes>,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            cycle: 0,
            stage: Stage::Mkdir,
            sub: None,
        }
    }

    /// The next cycle, under a fresh directory name.
    fn restart(&mut self) {
        self.stage = Stage::Mkdir;
        self.cycle += 1;
        self.sub = None;
    }
}

pub struct MixedLoad {
    dir: Bytes,
    chains: Slots<Chain>,
}

impl MixedLoad {
    pub fn new(dir: Bytes, depth: usize) -> MixedLoad {
        MixedLoad {
            dir,
            chains: Slots::new(depth),
        }
    }

    /// The directory of cycle `cycle` of chain `i`.
    fn cycle_dir(i: usize, cycle: u64) -> Bytes {
        Bytes::from(format!("d{i}.{cycle}"))
    }

    fn request(&self, i: usize) -> Request {
        let c = &self.chains.items[i];
        let sub = c.sub.clone().unwrap_or_default();
        match c.stage {
            Stage::Mkdir => Request::Mkdir {
                dir: self.dir.clone(),
                name: Self::cycle_dir(i, c.cycle),
                mode: DIR_MODE,
            },
            Stage::Create => create_file(&sub, Bytes::from_static(b"f"), true),
            Stage::Rename => Request::Rename {
                from_dir: sub.clone(),
                from: Bytes::from_static(b"f"),
                to_dir: sub,
                to: Bytes::from_static(b"g"),
            },
            Stage::Remove => Request::Remove {
                dir: sub,
                name: Bytes::from_static(b"g"),
            },
            Stage::Rmdir => Request::Rmdir {
                dir: self.dir.clone(),
                name: Self::cycle_dir(i, c.cycle),
            },
        }
    }
}

impl Load for MixedLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        let i = self.chains.next_free(Chain::new)?;
        Some((i as u64, self.request(i)))
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let i = tag as usize;
        let Some(c) = self.chains.items.get_mut(i) else {
            cx.error("reply for an unknown chain");
            return;
        };
        let r = match c.stage {
            Stage::Mkdir => made_ok(proc3::MKDIR, result).map(|fh| c.sub = Some(fh)),
            Stage::Create => made_ok(proc3::CREATE, result).map(|_| ()),
            Stage::Rename => status_ok(proc3::RENAME, result),
            Stage::Remove => status_ok(proc3::REMOVE, result),
            Stage::Rmdir => status_ok(proc3::RMDIR, result),
        };
        match r {
            Ok(()) => {
                cx.op_done(sent, 0);
                match c.stage.following() {
                    Some(stage) => c.stage = stage,
                    None => c.restart(),
                }
            }
            Err(e) => {
                cx.error(format!("mixed stage {}: {e}", c.stage as u8));
                // Start over under a fresh name; the half-done directory stays behind.
                c.restart();
            }
        }
        self.chains.release(i);
    }

    fn finish(&mut self, conn: &mut Connection, _cx: &mut Ctx) {
        // Best-effort cleanup of cycles the window cut short.
        for (i, c) in self.chains.items.iter().enumerate() {
            if c.stage == Stage::Mkdir {
                continue;
            }
            if let Some(sub) = &c.sub {
                let _ = conn.remove(sub, b"f");
                let _ = conn.remove(sub, b"g");
            }
            let _ = conn.rmdir(&self.dir, &Self::cycle_dir(i, c.cycle));
        }
    }
}
