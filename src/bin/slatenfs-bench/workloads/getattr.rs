//! getattr: GETATTR of one regular file, back to back.

use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{decode_nfs, ok_arm, ClientError, Request};
use slatenfs::proto::nfs3::{proc3, Ftype3, Nfs3Reply};

use crate::pipeline::{Ctx, Load};

pub struct GetattrLoad {
    fh: Bytes,
}

impl GetattrLoad {
    pub fn new(fh: Bytes) -> GetattrLoad {
        GetattrLoad { fh }
    }
}

/// Checks that a GETATTR reply describes a regular file.
fn regular_file(result: Result<Bytes, ClientError>) -> Result<u64, ClientError> {
    let body = result?;
    match decode_nfs(proc3::GETATTR, &body)? {
        Nfs3Reply::Getattr(r) => {
            if ok_arm("GETATTR", r)?.obj_attributes.ftype == Ftype3::Reg {
                Ok(0)
            } else {
                Err(ClientError::Protocol("GETATTR: not a regular file".into()))
            }
        }
        _ => Err(ClientError::Protocol("not a GETATTR reply".into())),
    }
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
        cx.op_result(sent, regular_file(result));
    }
}
