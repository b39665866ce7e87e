//! Runs the fuzz harnesses of `fuzz/src/{rpc,nfs3,mount}.rs` (included by path, so the logic is
//! the same as the fuzz targets') on the seed corpus, on every input that ever crashed a fuzz target
//! (`tests/fuzz_regressions/<target>/`), and on cheap deterministic mutations of the seeds (a
//! byte flipped at every offset, every truncation), so CI exercises them without a fuzzer.

#[path = "../fuzz/src/rpc.rs"]
#[allow(dead_code)]
mod harness;

#[path = "../fuzz/src/nfs3.rs"]
mod nfs3_harness;

#[path = "../fuzz/src/mount.rs"]
mod mount_harness;

use std::fs;
use std::path::Path;

fn inputs(dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(&root) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let hidden = name.to_string_lossy().starts_with('.');
            if path.is_file() && !hidden && path.extension().is_none_or(|e| e != "md") {
                out.push((path.display().to_string(), fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn run(target: &str, f: fn(&[u8])) {
    let seeds = inputs(&format!("fuzz/corpus/seeds/{target}"));
    assert!(!seeds.is_empty(), "no seeds for {target}");
    for (name, data) in seeds
        .iter()
        .chain(inputs(&format!("tests/fuzz_regressions/{target}")).iter())
    {
        eprintln!("{target}: {name}");
        f(data);
    }
    for (_, seed) in &seeds {
        for i in 0..seed.len() {
            let mut flipped = seed.clone();
            flipped[i] ^= if i % 2 == 0 { 0x80 } else { 0x01 };
            f(&flipped);
            f(&seed[..i]);
        }
    }
}

#[test]
fn connection_seeds_and_regressions() {
    run("connection", harness::connection);
}

#[test]
fn rpc_header_seeds_and_regressions() {
    run("rpc_header", harness::rpc_header);
}

#[test]
fn nfs3_args_seeds_and_regressions() {
    run("nfs3_args", nfs3_harness::nfs3_args);
}

#[test]
fn nfs3_roundtrip_seeds_and_regressions() {
    run("nfs3_roundtrip", nfs3_harness::nfs3_roundtrip);
}

#[test]
fn mount_args_seeds_and_regressions() {
    run("mount_args", mount_harness::mount_args);
}

/// Every fuzz target has a regression directory here and a test above: a target added to
/// `fuzz/Cargo.toml` without one fails this test.
#[test]
fn every_fuzz_target_is_replayed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
    let replayed = [
        "connection",
        "rpc_header",
        "nfs3_args",
        "nfs3_roundtrip",
        "mount_args",
    ];
    let mut targets: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| {
            let line = bin.lines().find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    targets.sort_unstable();
    let mut expected = replayed.to_vec();
    expected.sort_unstable();
    assert_eq!(
        targets, expected,
        "fuzz targets and replayed targets differ"
    );
    for t in replayed {
        assert!(
            root.join("tests/fuzz_regressions").join(t).is_dir(),
            "no tests/fuzz_regressions/{t}/"
        );
    }
}
