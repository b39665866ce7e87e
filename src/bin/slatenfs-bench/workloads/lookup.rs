//! lookup: LOOKUP of random names in the setup's directory of 1,000 files.

use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{decode_nfs, ok_arm, ClientError, Request};
use slatenfs::proto::nfs3::{proc3, Nfs3Reply};

use crate::pipeline::{Ctx, Load};
use crate::rng::Rng;
use crate::setup::LOOKUP_DIR;

pub struct LookupLoad {
    dir: Bytes,
    rng: Rng,
}

impl LookupLoad {
    pub fn new(dir: Bytes, rng: Rng) -> LookupLoad {
        LookupLoad { dir, rng }
    }
}

/// Checks that a LOOKUP reply found the name (a non-empty handle).
fn found(result: Result<Bytes, ClientError>) -> Result<u64, ClientError> {
    let body = result?;
    match decode_nfs(proc3::LOOKUP, &body)? {
        Nfs3Reply::Lookup(r) => {
            if ok_arm("LOOKUP", r)?.object.0.is_empty() {
                Err(ClientError::Protocol("LOOKUP: empty handle".into()))
            } else {
                Ok(0)
            }
        }
        _ => Err(ClientError::Protocol("not a LOOKUP reply".into())),
    }
}

impl Load for LookupLoad {
    /// Tagged with the index of the name.
    fn next(&mut self) -> Option<(u64, Request)> {
        let i = self.rng.below(LOOKUP_DIR.files as u64);
        Some((
            i,
            Request::Lookup {
                dir: self.dir.clone(),
                name: Bytes::from(LOOKUP_DIR.entry(i as usize)),
            },
        ))
    }

    fn reply(&mut self, i: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let result = found(result).map_err(|e| format!("{}: {e}", LOOKUP_DIR.entry(i as usize)));
        cx.op_result(sent, result);
    }
}
