#![no_main]
//! NFSv3 argument decoding from untrusted bytes.
//!
//! Input: a 4-byte big-endian procedure number, then the argument body (seeds in
//! `fuzz/corpus/seeds/nfs3_args/`). `Nfs3Call::decode` must never panic, and whatever it accepts
//! must re-encode to a body that decodes to the same call.
use libfuzzer_sys::fuzz_target;
use slatenfs::proto::nfs3::{DecodeError, Nfs3Call, NFS3_MAX_PROC};
use slatenfs::proto::xdr::encode_to_vec;

fuzz_target!(|data: &[u8]| {
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
});
