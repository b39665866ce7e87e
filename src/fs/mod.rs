//! Filesystem semantics (placeholder while the store is built).
