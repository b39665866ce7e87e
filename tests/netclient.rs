//! The blocking client (`slatenfs::netclient`) and the load generator against the real server
//! binary on a loopback port (in-memory object store, temporary cache). Assertions are about
//! results only, never about timing.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::server::{ServeOptions, Server};
use slatenfs::netclient::{decode_nfs, ClientError, Request};
use slatenfs::proto::mount::Mountstat3;
use slatenfs::proto::nfs3::{proc3, Ftype3, Nfs3Reply, Nfsstat3, StableHow};
use slatenfs::proto::rpc::ReplyStatus;

#[test]
fn synchronous_calls_round_trip() {
    let server = Server::start(&ServeOptions::default());
    let mut c = server.connect(b"netclient-test", Duration::from_secs(30));
    c.null().unwrap();
    let root = c.mount(b"/").unwrap();
    let attr = c.getattr(&root).unwrap();
    assert_eq!(attr.ftype, Ftype3::Dir);
    assert_ne!(attr.fileid, 0);
    match c.mount(b"/no/such/dir") {
        Err(ClientError::Mount(Mountstat3::Noent)) => {}
        other => panic!("{other:?}"),
    }

    let dir = c.mkdir_or_lookup(&root, b"nc", 0o755).unwrap();
    assert_eq!(c.mkdir_or_lookup(&root, b"nc", 0o755).unwrap(), dir);

    let f = c.create(&dir, b"f", 0o644, true).unwrap();
    let again = c.create(&dir, b"f", 0o644, true).unwrap_err();
    assert_eq!(again.nfs_status(), Some(Nfsstat3::Exist), "{again}");
    assert!(again.is_call_error());

    // A hole of 70,000 bytes, then data across chunk boundaries.
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let w = c
        .write(
            &f,
            70_000,
            StableHow::Unstable,
            Bytes::from(payload.clone()),
        )
        .unwrap();
    assert_eq!(w.count, 100_000);
    let r = c.read(&f, 0, 1 << 20).unwrap();
    assert!(r.eof);
    assert_eq!(r.data.len(), 170_000);
    assert!(r.data[..70_000].iter().all(|&b| b == 0));
    assert_eq!(&r.data[70_000..], &payload[..]);
    assert_eq!(c.commit(&f).unwrap(), w.verf);
    assert_eq!(c.getattr(&f).unwrap().size, 170_000);

    let (looked, attrs) = c.lookup(&dir, b"f").unwrap();
    assert_eq!(looked, f);
    assert_eq!(attrs.map(|a| a.size), Some(170_000));
    let missing = c.lookup(&dir, b"missing").unwrap_err();
    assert_eq!(missing.nfs_status(), Some(Nfsstat3::Noent));

    c.rename(&dir, b"f", &dir, b"g").unwrap();
    assert_eq!(
        c.lookup(&dir, b"f").unwrap_err().nfs_status(),
        Some(Nfsstat3::Noent)
    );
    c.remove(&dir, b"g").unwrap();
    assert_eq!(
        c.getattr(&f).unwrap_err().nfs_status(),
        Some(Nfsstat3::Stale)
    );
    let sub = c.mkdir(&dir, b"sub", 0o755).unwrap();
    assert_eq!(c.getattr(&sub).unwrap().ftype, Ftype3::Dir);
    c.rmdir(&dir, b"sub").unwrap();
    let info = c.fsinfo(&root).unwrap();
    assert!(info.rtmax > 0 && info.wtmax > 0);

    // A program the server does not serve: an RPC-level error, and the connection lives on.
    match c.call_raw(100_227, 3, 1, &()) {
        Ok(ReplyStatus::ProgUnavail) => {}
        other => panic!("{other:?}"),
    }
    c.null().unwrap();

    // The server goes away: errors, no panic.
    server.stop(Duration::from_secs(20));
    assert!(c.getattr(&root).is_err());
    assert!(c.getattr(&root).is_err());
}

#[test]
fn pipelined_calls_are_matched_by_xid() {
    let server = Server::start(&ServeOptions::default());
    let mut c = server.connect(b"netclient-test", Duration::from_secs(30));
    let root = c.mount(b"/").unwrap();
    let dir = Bytes::from(c.mkdir_or_lookup(&root, b"pipe", 0o755).unwrap());

    // 600 CREATEs in one burst.
    let names: BTreeSet<String> = (0..600).map(|i| format!("n{i:03}")).collect();
    let mut xids = HashSet::new();
    for n in &names {
        let req = Request::Create {
            dir: dir.clone(),
            name: Bytes::from(n.clone()),
            mode: 0o644,
            guarded: true,
        };
        assert!(xids.insert(c.queue(&req).unwrap()));
    }
    c.flush().unwrap();
    assert_eq!(c.in_flight(), 600);
    while !xids.is_empty() {
        let reply = c.recv().unwrap();
        assert!(xids.remove(&reply.xid), "unexpected xid {:#x}", reply.xid);
        let ReplyStatus::Success(body) = reply.status else {
            panic!("{:?}", reply.status)
        };
        assert_eq!(
            decode_nfs(proc3::CREATE, &body).unwrap().status(),
            Nfsstat3::Ok
        );
    }
    assert_eq!(c.in_flight(), 0);

    // READDIRPLUS paging sees every name once.
    let listed: Vec<String> = c
        .readdirplus_all(&dir, 1000)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .filter(|n| n != "." && n != "..")
        .collect();
    assert_eq!(listed.len(), names.len());
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), names);

    // WRITEs in flight together, then READs in flight together, each checked by its xid.
    let (fh, _) = c.lookup(&dir, b"n000").unwrap();
    let fh = Bytes::from(fh);
    let block = |i: u64| Bytes::from(vec![i as u8 ^ 0x5a; 65_536]);
    let mut writes = std::collections::HashMap::new();
    for i in 0..32u64 {
        let req = Request::Write {
            fh: fh.clone(),
            offset: i * 65_536,
            stable: StableHow::Unstable,
            data: block(i),
        };
        writes.insert(c.queue(&req).unwrap(), i);
    }
    c.flush().unwrap();
    for _ in 0..32 {
        let reply = c.recv().unwrap();
        assert!(writes.remove(&reply.xid).is_some());
        let ReplyStatus::Success(body) = reply.status else {
            panic!()
        };
        match decode_nfs(proc3::WRITE, &body).unwrap() {
            Nfs3Reply::Write(r) => assert_eq!(r.ok().unwrap().count, 65_536),
            other => panic!("{other:?}"),
        }
    }
    let mut reads = std::collections::HashMap::new();
    for i in (0..32u64).rev() {
        let req = Request::Read {
            fh: fh.clone(),
            offset: i * 65_536,
            count: 65_536,
        };
        reads.insert(c.queue(&req).unwrap(), i);
    }
    c.flush().unwrap();
    // A synchronous call while the READs are in flight: its reply is picked out, the others
    // are kept for recv().
    assert_eq!(c.getattr(&fh).unwrap().size, 32 * 65_536);
    for _ in 0..32 {
        let reply = c.recv().unwrap();
        let i = reads.remove(&reply.xid).expect("a READ's xid");
        let ReplyStatus::Success(body) = reply.status else {
            panic!()
        };
        let r = slatenfs::netclient::parse_read(&body).unwrap();
        assert_eq!(r.data, block(i));
    }
    assert!(reads.is_empty());
}

/// Runs the load generator; returns its JSON line.
fn bench(server: &Server, workload: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_slatenfs-bench"))
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &server.addr().port().to_string(),
        ])
        .args(["--conns", "2", "--depth", "4", "--seconds", "1"])
        .args(["--workload", workload, "--dir", &format!("b-{workload}")])
        .args(extra)
        .output()
        .expect("run slatenfs-bench");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{workload}: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    lines[0].to_string()
}

fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let start = json.find(&pat).unwrap_or_else(|| panic!("{key} in {json}")) + pat.len();
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap();
    &rest[..end]
}

#[test]
fn load_generator_runs_workloads_without_errors() {
    let server = Server::start(&ServeOptions::default());
    for (w, extra) in [
        ("getattr", &[][..]),
        ("create", &[][..]),
        ("seqwrite", &["--seqwrite-file-mb", "4"][..]),
        ("seqread", &["--file-mb", "4"][..]),
        ("randread", &["--file-mb", "4"][..]),
        ("randwrite", &["--file-mb", "4"][..]),
        ("mixed", &[][..]),
    ] {
        let json = bench(&server, w, extra);
        assert_eq!(field(&json, "workload"), format!("\"{w}\""));
        assert_eq!(field(&json, "errors"), "0", "{json}");
        for key in [
            "ops",
            "seconds",
            "ops_per_sec",
            "mb_per_sec",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "client_bytes_written",
        ] {
            field(&json, key).parse::<f64>().unwrap();
        }
        if ["seqwrite", "seqread", "randread", "randwrite"].contains(&w) {
            // The setup (or the run) wrote data.
            assert_ne!(field(&json, "client_bytes_written"), "0", "{json}");
        }
    }
    // A second run reuses the large file: nothing written by its setup.
    let json = bench(&server, "seqread", &["--file-mb", "4"]);
    assert_eq!(field(&json, "client_bytes_written"), "0", "{json}");
    assert_eq!(field(&json, "errors"), "0", "{json}");
}
