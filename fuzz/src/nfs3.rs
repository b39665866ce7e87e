//! Harnesses for the NFSv3 layer: argument decoding and structured call/reply round trips.
//!
//! - `nfs3_args`: input is a 4-byte big-endian procedure number, then the argument body.
//!   `Nfs3Call::decode` must never panic, and whatever it accepts must re-encode to a body (no
//!   longer than the input) that decodes to the same call.
//! - `nfs3_roundtrip`: one selector byte (even: call, odd: reply), a byte choosing the procedure
//!   (modulo 22), then the body. When decoding succeeds, encoding gives a canonical body:
//!   decoding it gives the same value, and encoding that value again gives the same bytes.

use bytes::Bytes;
use slatenfs::proto::nfs3::{DecodeError, Nfs3Call, Nfs3Reply, NFS3_MAX_PROC};
use slatenfs::proto::xdr::encode_to_vec;

pub fn nfs3_args(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let proc = u32::from_be_bytes(*head);
    match Nfs3Call::decode(proc, body) {
        Ok(call) => {
            assert_eq!(call.proc_num(), proc);
            let wire = encode_to_vec(&call);
            assert!(wire.len() <= body.len(), "re-encoding grew the body");
            assert_eq!(Nfs3Call::decode(proc, &wire), Ok(call));
        }
        Err(DecodeError::UnknownProcedure(p)) => assert!(p == proc && proc > NFS3_MAX_PROC),
        Err(_) => assert!(proc <= NFS3_MAX_PROC),
    }
}

pub fn nfs3_roundtrip(data: &[u8]) {
    let [selector, proc, body @ ..] = data else {
        return;
    };
    let proc = u32::from(*proc % 22);
    if selector % 2 == 0 {
        if let Ok(call) = Nfs3Call::decode(proc, body) {
            let wire = encode_to_vec(&call);
            let again = Nfs3Call::decode(proc, &wire).expect("canonical call body decodes");
            assert_eq!(again, call);
            assert_eq!(encode_to_vec(&again), wire);
        }
    } else if let Ok(reply) = Nfs3Reply::decode_slice(proc, body) {
        let wire = Bytes::from(encode_to_vec(&reply));
        let again = Nfs3Reply::decode(proc, &wire).expect("canonical reply body decodes");
        assert_eq!(again, reply);
        assert_eq!(encode_to_vec(&again), wire.to_vec());
    }
}
