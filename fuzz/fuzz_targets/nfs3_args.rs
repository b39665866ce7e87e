#![no_main]
//! NFSv3 argument decoding from untrusted bytes: a 4-byte big-endian procedure number, then the
//! argument body (seeds in `fuzz/corpus/seeds/nfs3_args/`). Logic in `src/nfs3.rs`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slatenfs_fuzz::nfs3::nfs3_args(data);
});
