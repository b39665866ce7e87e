//! seqread / randread: READs of the large file, verified against its contents: sequential
//! 1 MiB (each connection from its own starting point, wrapping) or random 4 KiB.

use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{ClientError, Request};

use super::{MIB, SMALL_IO};
use crate::calls::read_ok;
use crate::pipeline::{Ctx, Load};
use crate::rng::Rng;

pub struct ReadLoad {
    fh: Bytes,
    key: u64,
    size: u64,
    /// Random offsets when set, else sequential from `pos`.
    random: Option<Rng>,
    pos: u64,
}

impl ReadLoad {
    pub fn sequential(fh: Bytes, key: u64, size: u64, start: u64) -> ReadLoad {
        ReadLoad {
            fh,
            key,
            size,
            random: None,
            pos: start,
        }
    }

    pub fn random(fh: Bytes, key: u64, size: u64, rng: Rng) -> ReadLoad {
        ReadLoad {
            fh,
            key,
            size,
            random: Some(rng),
            pos: 0,
        }
    }

    /// The count of each READ.
    fn count(&self) -> u64 {
        if self.random.is_some() {
            SMALL_IO
        } else {
            MIB
        }
    }
}

impl Load for ReadLoad {
    /// Tagged with the offset.
    fn next(&mut self) -> Option<(u64, Request)> {
        let count = self.count();
        let offset = match &mut self.random {
            Some(rng) => rng.below(self.size / count) * count,
            None => {
                if self.pos >= self.size {
                    self.pos = 0;
                }
                let offset = self.pos;
                self.pos += count;
                offset
            }
        };
        Some((
            offset,
            Request::Read {
                fh: self.fh.clone(),
                offset,
                count: count as u32,
            },
        ))
    }

    fn reply(
        &mut self,
        offset: u64,
        sent: Instant,
        result: Result<Bytes, ClientError>,
        cx: &mut Ctx,
    ) {
        let expect = self.count().min(self.size.saturating_sub(offset)) as usize;
        cx.op_result(sent, read_ok(result, self.key, offset, expect));
    }
}
