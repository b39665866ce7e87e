//! Fuzz harnesses for slatenfs. Each module holds the logic of some fuzz targets as plain
//! functions, so that the crate's regression tests can run the same code on saved inputs
//! (`tests/proto_rpc_fuzz.rs` includes `rpc.rs` by path). Targets in `fuzz_targets/` are thin
//! wrappers. Add a module per protocol layer (NFS, MOUNT, portmap, ...).

pub mod rpc;
