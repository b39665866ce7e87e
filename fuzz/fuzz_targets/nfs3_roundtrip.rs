#![no_main]
//! NFSv3 structured round trip, calls and replies: a selector byte (even: call, odd: reply), a
//! procedure byte (modulo 22), then the body (seeds in `fuzz/corpus/seeds/nfs3_roundtrip/`).
//! Logic in `src/nfs3.rs`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slatenfs_fuzz::nfs3::nfs3_roundtrip(data);
});
