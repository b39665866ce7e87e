#![no_main]
//! NFSv3 structured round trip, calls and replies.
//!
//! Input: one selector byte (even: call, odd: reply), a byte choosing the procedure (modulo
//! 22), then the body (seeds in `fuzz/corpus/seeds/nfs3_roundtrip/`). When decoding succeeds,
//! encoding gives a canonical body: decoding it gives the same value, and encoding that value
//! again gives the same bytes.
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use slatenfs::proto::nfs3::{Nfs3Call, Nfs3Reply};
use slatenfs::proto::xdr::encode_to_vec;

fuzz_target!(|data: &[u8]| {
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
});
