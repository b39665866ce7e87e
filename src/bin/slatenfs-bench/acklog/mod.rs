//! Durability campaigns: `--workload ack` drives a load whose every acknowledgement is logged
//! (`--ack-log`), and `--workload ack --check` checks a server's state against that log after
//! the server was killed and restarted (tests/system/crash-campaign.sh drives both).

mod check;
mod drive;
mod log;

use std::sync::Mutex;
use std::time::Duration;

use slatenfs::netclient::Connection;

use crate::calls::DIR_MODE;
use crate::Args;

/// The directory of worker `worker` of round `round`, under the run's directory.
pub fn worker_dir(round: u32, worker: u32) -> String {
    format!("r{round}w{worker}")
}

/// A connection to the NFS server and the handle of the run's directory (`--dir`), made if
/// missing.
fn base_dir(args: &Args) -> Result<(Connection, Vec<u8>), String> {
    let timeout = Duration::from_secs(args.timeout);
    let root = {
        let mnt = crate::resolve(&args.server, args.mountport.unwrap_or(args.port))?;
        let mut c = crate::connect(&mnt, timeout, 0)?;
        c.mount(args.export.as_bytes())
            .map_err(|e| format!("MNT {}: {e}", args.export))?
    };
    let nfs = crate::resolve(&args.server, args.port)?;
    let mut conn = crate::connect(&nfs, timeout, 0)?;
    let start = std::time::Instant::now();
    loop {
        match conn.mkdir_or_lookup(&root, args.dir.as_bytes(), DIR_MODE) {
            Ok(fh) => return Ok((conn, fh)),
            Err(e)
                if e.nfs_status() == Some(slatenfs::proto::nfs3::Nfsstat3::Jukebox)
                    && start.elapsed() < Duration::from_secs(args.timeout) =>
            {
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => return Err(format!("{}: {e}", args.dir)),
        }
    }
}

/// Runs one round of the logged load; the JSON line of what it did.
pub fn run_load(args: &Args) -> Result<String, String> {
    let path = args
        .ack_log
        .as_deref()
        .ok_or("--workload ack needs --ack-log")?;
    let nfs = crate::resolve(&args.server, args.port)?;
    let (_, base) = base_dir(args)?;
    let log = Mutex::new(log::Appender::open(path)?);
    let plan = drive::Plan {
        round: args.round,
        workers: args.conns.max(1) as u32,
        seed: args.seed,
        window: Duration::from_secs_f64(args.seconds.max(0.0)),
        jukebox_limit: Duration::from_secs(args.timeout),
        bytes_per_worker: args.file_mb << 20,
    };
    let st = drive::drive(nfs, &base, &plan, &log)?;
    Ok(format!(
        "{{\"mode\":\"ack-load\",\"round\":{},\"ops_acked\":{},\"bytes_acked\":{},\
         \"jukebox_retries\":{},\"failed\":{},\"disconnected\":{}}}",
        plan.round, st.ops_acked, st.bytes_acked, st.jukebox_retries, st.failed, st.disconnected
    ))
}

/// Checks the server against the log and appends what it found of ops in doubt; the JSON line
/// of the findings, and whether nothing was lost.
pub fn run_check(args: &Args) -> Result<(String, bool), String> {
    let path = args.ack_log.as_deref().ok_or("--check needs --ack-log")?;
    let lines = log::read(path)?;
    let (mut conn, base) = base_dir(args)?;
    let found = check::check(&mut conn, &base, &lines)?;
    let mut appender = log::Appender::open(path)?;
    for line in &found.resolved {
        appender.append(line)?;
    }
    for problem in &found.lost {
        eprintln!("slatenfs-bench: LOST: {problem}");
    }
    let failed = lines
        .iter()
        .filter(|l| matches!(l.event, log::Event::Failed(_)))
        .count();
    Ok((
        format!(
            "{{\"mode\":\"ack-check\",\"streams\":{},\"ops_logged\":{},\"ops_verified\":{},\
             \"bytes_verified\":{},\"resolved\":{},\"error_answers\":{},\"lost\":{}}}",
            found.streams,
            lines
                .iter()
                .filter(|l| matches!(l.event, log::Event::Intent(_)))
                .count(),
            found.ops_verified,
            found.bytes_verified,
            found.resolved.len(),
            failed,
            found.lost.len()
        ),
        found.lost.is_empty(),
    ))
}
