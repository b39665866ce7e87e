#![no_main]
//! MOUNT v3 and portmap v2 argument decoding from untrusted bytes: a 4-byte big-endian procedure
//! number, then the argument body (seeds in `fuzz/corpus/seeds/mount_args/`). Logic in
//! `src/mount.rs`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slatenfs_fuzz::mount::mount_args(data);
});
