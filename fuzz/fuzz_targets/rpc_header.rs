#![no_main]
//! One record through the call/reply header and auth decoders.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slatenfs_fuzz::rpc::rpc_header(data);
});
