//! Scheduled snapshots (`--snapshot-every`, `--snapshot-keep`): what to name the next one and
//! which automatic ones to delete. Manual snapshots are never deleted here.
use std::time::{Duration, SystemTime};

use super::catalog::{Snapshot, SnapshotCatalog, SnapshotError, SnapshotKind};
use super::name::SnapshotName;

/// Shortest period: automatic names have minute resolution.
pub const MIN_PERIOD: Duration = Duration::from_secs(60);

/// How often to take automatic snapshots and how many to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotSchedule {
    pub every: Duration,
    pub keep: usize,
}

/// The name of an automatic snapshot taken at `at`: `auto-20261203T0600Z` (UTC, minutes).
pub fn automatic_name(at: SystemTime) -> SnapshotName {
    // "2026-12-03T06:00:00Z" → "20261203T0600".
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(13)
        .collect();
    SnapshotName::parse(&format!("auto-{stamp}Z"))
        .unwrap_or_else(|e| unreachable!("a timestamp makes a valid name: {e}"))
}

/// The automatic snapshots beyond the newest `keep` of them, oldest first.
pub fn expired(snapshots: &[Snapshot], keep: usize) -> Vec<Snapshot> {
    let mut automatic: Vec<&Snapshot> = snapshots
        .iter()
        .filter(|s| s.kind == SnapshotKind::Automatic)
        .collect();
    automatic.sort_by_key(|s| s.created);
    let excess = automatic.len().saturating_sub(keep);
    automatic.into_iter().take(excess).cloned().collect()
}

/// How long from `now` to the next automatic snapshot, given when the newest one was taken:
/// a server restarted part way through a period does not take one early.
pub fn next_in(
    schedule: &SnapshotSchedule,
    newest: Option<SystemTime>,
    now: SystemTime,
) -> Duration {
    match newest.and_then(|t| now.duration_since(t).ok()) {
        Some(age) => schedule.every.saturating_sub(age),
        None if newest.is_some() => schedule.every, // taken "in the future": clock moved back
        None => Duration::ZERO,
    }
}

/// What one scheduled round did.
#[derive(Debug)]
pub struct Round {
    pub taken: Snapshot,
    pub deleted: Vec<Snapshot>,
}

/// One scheduled round at `now`: takes the automatic snapshot named for `now`, then deletes
/// the oldest automatic ones beyond `keep`. A name already taken (a manual snapshot called
/// so) fails with [`SnapshotError::Exists`]; the scheduler tries again a minute later, under
/// the next minute's name.
pub async fn take_round(
    catalog: &SnapshotCatalog,
    keep: usize,
    now: SystemTime,
) -> Result<Round, SnapshotError> {
    let taken = catalog
        .create(&automatic_name(now), SnapshotKind::Automatic)
        .await?;
    let mut deleted = Vec::new();
    for old in expired(&catalog.list().await?, keep) {
        deleted.push(catalog.delete(old.name.as_str()).await?);
    }
    Ok(Round { taken, deleted })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;
    use uuid::Uuid;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn snap(name: &str, kind: SnapshotKind, created: u64) -> Snapshot {
        Snapshot {
            name: SnapshotName::parse(name).unwrap(),
            id: Uuid::from_u128(created as u128),
            view: created as u32 + 2,
            created: at(created),
            kind,
            manifest_id: created,
        }
    }

    #[test]
    fn a_round_takes_one_and_expires_the_oldest_automatic_ones() {
        futures::executor::block_on(async {
            let store = crate::store::Store::open_in_memory().await.unwrap();
            let catalog = SnapshotCatalog::new(store.clone());
            catalog
                .create(
                    &SnapshotName::parse("manual").unwrap(),
                    SnapshotKind::Manual,
                )
                .await
                .unwrap();
            let mut names = Vec::new();
            for minute in 0..4u64 {
                let round = take_round(&catalog, 2, at(1_796_277_600 + minute * 60))
                    .await
                    .unwrap();
                names.push(round.taken.name.to_string());
                let deleted: Vec<String> =
                    round.deleted.iter().map(|s| s.name.to_string()).collect();
                let want: Vec<String> = names.iter().rev().skip(2).take(1).cloned().collect();
                assert_eq!(deleted, want, "round {minute}");
            }
            let left: Vec<String> = catalog
                .list()
                .await
                .unwrap()
                .iter()
                .map(|s| s.name.to_string())
                .collect();
            assert_eq!(
                left,
                ["manual", "auto-20261203T0602Z", "auto-20261203T0603Z"]
            );
            // The same minute again: the name is taken.
            assert!(matches!(
                take_round(&catalog, 2, at(1_796_277_600 + 3 * 60)).await,
                Err(SnapshotError::Exists(_))
            ));
            store.close().await.unwrap();
        });
    }

    #[test]
    fn names_are_utc_minutes() {
        // 2026-12-03T06:00:59Z
        assert_eq!(
            automatic_name(at(1_796_277_659)).as_str(),
            "auto-20261203T0600Z"
        );
        assert_eq!(automatic_name(at(0)).as_str(), "auto-19700101T0000Z");
    }

    #[test]
    fn only_the_oldest_automatic_ones_beyond_keep_expire() {
        let all = vec![
            snap("m1", SnapshotKind::Manual, 1),
            snap("a3", SnapshotKind::Automatic, 30),
            snap("a1", SnapshotKind::Automatic, 10),
            snap("m2", SnapshotKind::Manual, 15),
            snap("a2", SnapshotKind::Automatic, 20),
        ];
        let names = |v: Vec<Snapshot>| {
            v.into_iter()
                .map(|s| s.name.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(expired(&all, 1)), ["a1", "a2"]);
        assert_eq!(names(expired(&all, 3)), Vec::<String>::new());
        assert_eq!(names(expired(&all, 0)), ["a1", "a2", "a3"]);
    }

    #[test]
    fn the_next_one_waits_for_the_rest_of_the_period() {
        let s = SnapshotSchedule {
            every: Duration::from_secs(3600),
            keep: 3,
        };
        assert_eq!(next_in(&s, None, at(5000)), Duration::ZERO);
        assert_eq!(
            next_in(&s, Some(at(4000)), at(5000)),
            Duration::from_secs(2600)
        );
        assert_eq!(next_in(&s, Some(at(1000)), at(5000)), Duration::ZERO);
        assert_eq!(
            next_in(&s, Some(at(6000)), at(5000)),
            Duration::from_secs(3600)
        );
    }
}
