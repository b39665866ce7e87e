//! Runs the fuzz harnesses of `fuzz/src/rpc.rs` (included by path, so the logic is the same) on
//! the seed corpus, on every input that ever crashed a fuzz target
//! (`tests/fuzz_regressions/<target>/`), and on cheap deterministic mutations of the seeds (a
//! byte flipped at every offset, every truncation), so CI exercises them without a fuzzer.

#[path = "../fuzz/src/rpc.rs"]
#[allow(dead_code)]
mod harness;

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
