//! Export rules against the real server over TCP: clients connect from different loopback
//! addresses (all of 127.0.0.0/8 is this machine) and from privileged or unprivileged source
//! ports (binding a port below 1024 needs root, as the test suite runs). The rules come from a
//! file that the test rewrites and reloads with SIGHUP while connections stay open.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use common::server::{ServeOptions, Server};
use slatenfs::netclient::{auth_sys, decode_nfs, ClientError, Connection};
use slatenfs::proto::auth::AuthStat;
use slatenfs::proto::mount::Mountstat3;
use slatenfs::proto::nfs3::*;
use slatenfs::proto::rpc::ReplyStatus;

const RULES: &str = "\
# the test's rules
/ 127.0.0.2(rw,no_root_squash,insecure) 127.0.0.3(ro,no_root_squash,insecure) \\
  127.0.1.0/24(rw,insecure) 127.0.0.4(rw,all_squash,anonuid=2000,anongid=2001,insecure) \\
  127.0.0.5(rw,no_root_squash)
/pub *(ro,insecure)
";

fn from(server: &Server, ip: [u8; 4], uid: u32) -> Connection {
    server.connect_from(
        SocketAddrV4::new(Ipv4Addr::from(ip), 0),
        auth_sys(uid, uid, b"exports-test"),
    )
}

fn status<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<Nfsstat3> {
    match r {
        Ok(_) => Some(Nfsstat3::Ok),
        Err(e) => e.nfs_status(),
    }
}

fn chown(c: &mut Connection, fh: &[u8], uid: u32) -> Nfsstat3 {
    let call = Nfs3Call::Setattr(Setattr3Args {
        object: NfsFh3(fh),
        new_attributes: Sattr3 {
            uid: Some(uid),
            ..Default::default()
        },
        guard: None,
    });
    match c
        .call_raw(NFS_PROGRAM, NFS_V3, proc3::SETATTR, &call)
        .unwrap()
    {
        ReplyStatus::Success(b) => decode_nfs(proc3::SETATTR, &b).unwrap().status(),
        other => panic!("{other:?}"),
    }
}

/// Retries `f` until it returns true (a reload is asynchronous), 30 s at most.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} never happened");
}

#[test]
fn rules_apply_per_client_over_tcp_and_reload_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("exports");
    std::fs::write(&rules, RULES).unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start(&ServeOptions {
        args: vec!["--exports".into(), rules.display().to_string()],
        log: Some(log.clone()),
        rust_log: "info".into(),
        ..ServeOptions::default()
    });

    // no_root_squash, rw: the admin client.
    let mut admin = from(&server, [127, 0, 0, 2], 0);
    let root = admin.mount(b"/").unwrap();
    let public = admin.mkdir(&root, b"pub", 0o777).unwrap();
    let file = admin.create(&public, b"by-root", 0o644, true).unwrap();
    assert_eq!(admin.getattr(&file).unwrap().uid, 0);

    // ro: reads work, changes are EROFS.
    let mut ro = from(&server, [127, 0, 0, 3], 0);
    let ro_root = ro.mount(b"/").unwrap();
    let ro_pub = ro.lookup(&ro_root, b"pub").unwrap().0;
    assert_eq!(
        status(ro.create(&ro_pub, b"x", 0o644, true)),
        Some(Nfsstat3::Rofs)
    );
    // Handles belong to exports, not to clients: the admin's works here, read-only.
    assert!(ro.getattr(&file).is_ok());

    // A network with root squashed: root's files belong to nobody; chown is EPERM.
    let mut squashed = from(&server, [127, 0, 1, 77], 0);
    let sq_root = squashed.mount(b"/").unwrap();
    let sq_pub = squashed.lookup(&sq_root, b"pub").unwrap().0;
    let f = squashed
        .create(&sq_pub, b"by-squashed", 0o644, true)
        .unwrap();
    let a = squashed.getattr(&f).unwrap();
    assert_eq!((a.uid, a.gid), (65534, 65534));
    assert_eq!(chown(&mut squashed, &f, 0), Nfsstat3::Perm);

    // all_squash with anonymous ids: a user is the anonymous user too.
    let mut all = from(&server, [127, 0, 0, 4], 1000);
    let all_root = all.mount(b"/").unwrap();
    let all_pub = all.lookup(&all_root, b"pub").unwrap().0;
    let f = all.create(&all_pub, b"by-1000", 0o644, true).unwrap();
    let a = all.getattr(&f).unwrap();
    assert_eq!((a.uid, a.gid), (2000, 2001));

    // secure: an unprivileged port may not mount nor use a handle; a privileged one may.
    let mut weak = from(&server, [127, 0, 0, 5], 0);
    match weak.mount(b"/") {
        Err(ClientError::Mount(Mountstat3::Acces)) => {}
        other => panic!("MNT from an unprivileged port: {other:?}"),
    }
    let getattr = Getattr3Args {
        object: NfsFh3(&root),
    };
    let st = weak
        .call_raw(NFS_PROGRAM, NFS_V3, proc3::GETATTR, &getattr)
        .unwrap();
    assert_eq!(st, ReplyStatus::AuthError(AuthStat::TooWeak));
    let mut strong = server.connect_privileged(Ipv4Addr::new(127, 0, 0, 5), auth_sys(0, 0, b"t"));
    let strong_root = strong.mount(b"/").unwrap();
    assert!(strong.getattr(&strong_root).is_ok());

    // Outside every client list: only the `*` export, and no borrowed handle works.
    let mut stranger = from(&server, [127, 0, 0, 9], 0);
    match stranger.mount(b"/") {
        Err(ClientError::Mount(Mountstat3::Acces)) => {}
        other => panic!("MNT / by a stranger: {other:?}"),
    }
    let pub_fh = stranger.mount(b"/pub").unwrap();
    assert!(stranger.getattr(&pub_fh).is_ok());
    assert_eq!(status(stranger.getattr(&file)), Some(Nfsstat3::Acces));
    assert_eq!(status(stranger.getattr(&root)), Some(Nfsstat3::Acces));

    // SIGHUP: 127.0.0.3 becomes read-write; its open connection sees it on the next call.
    std::fs::write(&rules, RULES.replace("127.0.0.3(ro,", "127.0.0.3(rw,")).unwrap();
    server.signal("HUP");
    eventually("the reload making 127.0.0.3 read-write", || {
        ro.create(&ro_pub, b"after-reload", 0o644, true).is_ok()
    });
    // A broken file keeps the rules in force and says why in one line.
    std::fs::write(&rules, "/ 127.0.0.3(rw,bogus)\n").unwrap();
    server.signal("HUP");
    eventually("the refused reload to be logged", || {
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("export rules not reloaded, the previous ones stay in force")
    });
    assert!(ro.create(&ro_pub, b"still-rw", 0o644, true).is_ok());
    assert!(admin.getattr(&root).is_ok(), "connections were not dropped");

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("refused MNT \"/\" from 127.0.0.9:"),
        "the refused MNT is logged with the peer"
    );
    assert!(text.contains("bogus"), "the bad option is named");
    assert!(server
        .stop(Duration::from_secs(60))
        .is_some_and(|s| s.success()));
}
