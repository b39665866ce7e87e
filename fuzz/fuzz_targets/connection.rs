#![no_main]
//! Arbitrary bytes, split arbitrarily, into a ServerConnection and a ClientConnection.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slatenfs_fuzz::rpc::connection(data);
});
