//! Fuzz harnesses for slatenfs. Each module holds the logic of some fuzz targets as plain
//! functions, so that the crate's regression tests can run the same code on saved inputs
//! (`tests/proto_rpc_fuzz.rs` includes these files by path). Targets in `fuzz_targets/` are thin
//! wrappers. Add a module per protocol layer.

pub mod mount;
pub mod nfs3;
pub mod rpc;
