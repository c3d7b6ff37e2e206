//! The rollback journal proves itself before anything is deleted: a dropped, edited, shortened
//! or duplicated journal, or a damaged database, is refused with one line and the file is left
//! byte for byte as it was; `migrate` refuses a damaged file; a rollback stopped half-way is
//! finished by `rollback` and resumed by `migrate`, to exactly what an uninterrupted run leaves.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rstest::rstest;
use rusqlite::Connection;

use crate::common::*;

/// A copy of the bundled fixture at `dir/name`, migrated in batches of 300 source rows (a
/// journal of some twenty entries).
fn migrated(dir: &Path, name: &str) -> PathBuf {
    let db = dir.join(name);
    gunzip(&small_fixture_gz(), &db);
    let r = run(&["migrate", s(&db), "--yes", "--batch-size", "300"]);
    assert_eq!(r.code, 0, "{r:?}");
    db
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// Damage the journal of a migrated database the ways a hand, a script or a bad restore can.
#[rstest]
#[case::journal_dropped(
    "DROP TABLE preflight_journal",
    "the table preflight_journal is missing"
)]
#[case::inserted_nulled(
    "UPDATE preflight_journal SET inserted = NULL WHERE id = 5",
    "entry 5 has no inserted"
)]
#[case::middle_entry_deleted(
    "DELETE FROM preflight_journal WHERE id = 4",
    "entry number 4 is missing"
)]
#[case::newest_entry_deleted(
    "DELETE FROM preflight_journal WHERE id = (SELECT max(id) FROM preflight_journal)",
    "the newest were removed"
)]
#[case::entry_duplicated(
    "INSERT INTO preflight_journal SELECT NULL, migration_name, system_id, target_table, time_lo, time_hi, rowid_lo, rowid_hi, inserted, sequence_before, at, seq, checksum FROM preflight_journal WHERE id = 3",
    "repeats number"
)]
#[case::range_widened_to_live_rows(
    "UPDATE preflight_journal SET rowid_lo = rowid_lo - 40, inserted = inserted + 40 WHERE id = 6",
    "entry 6 does not match its checksum"
)]
#[case::window_moved(
    "UPDATE preflight_journal SET time_hi = time_hi + 86400 WHERE id = 2",
    "entry 2 does not match its checksum"
)]
#[case::head_removed("DELETE FROM preflight_state WHERE key = 'journal_head'", "its head")]
fn a_damaged_journal_is_refused_and_nothing_is_deleted(#[case] damage: &str, #[case] said: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(dir.path(), "x.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch(damage)
        .unwrap();
    let before = bytes(&db);
    for cmd in [
        &["rollback", s(&db), "--yes"][..],
        &["migrate", s(&db), "--yes"][..],
    ] {
        let r = run(cmd);
        assert_eq!(r.code, 2, "{cmd:?} after {damage}: {r:?}");
        assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains(said) && r.stderr.contains("nothing was deleted or written"),
            "{cmd:?} after {damage}: {}",
            r.stderr
        );
        assert!(
            bytes(&db) == before,
            "{cmd:?} after {damage} changed the file"
        );
    }
}

/// The state table dropped while the journal holds entries: rollback says the journal is
/// damaged (not that there is none) and deletes nothing.
#[test]
fn rollback_without_the_state_table_says_the_journal_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(dir.path(), "x.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE preflight_state")
        .unwrap();
    let before = bytes(&db);
    let r = run(&["rollback", s(&db), "--yes"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr_lines().len(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("is damaged: preflight_journal holds")
            && r.stderr.contains("preflight_state has no complete record")
            && r.stderr.contains("nothing was deleted or written"),
        "{}",
        r.stderr
    );
    assert!(bytes(&db) == before, "rollback changed the file");
}

/// Overwrite the header of one b-tree page of `table` (its page type becomes invalid).
fn corrupt_a_page_of(db: &Path, table: &str) {
    let c = Connection::open(db).unwrap();
    let page: i64 = c
        .query_row(
            "SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' ORDER BY pageno DESC LIMIT 1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    drop(c);
    let mut b = bytes(db);
    let at = ((page - 1) * size) as usize;
    b[at..at + 8].copy_from_slice(&[0x55; 8]);
    std::fs::write(db, b).unwrap();
}

#[test]
fn rollback_and_migrate_refuse_a_database_that_fails_its_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    // a page of a table the rollback never reads
    let db = migrated(dir.path(), "x.db");
    corrupt_a_page_of(&db, "sessions");
    let before = bytes(&db);
    let r = run(&["rollback", s(&db), "--yes"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("fails SQLite's integrity_check") && r.stderr.contains("x.db"),
        "{}",
        r.stderr
    );
    assert!(bytes(&db) == before, "a refused rollback wrote to the file");

    // and an unmigrated file: migrate must not exit 0 on it
    let fresh = dir.path().join("fresh.db");
    gunzip(&small_fixture_gz(), &fresh);
    corrupt_a_page_of(&fresh, "readings");
    let before = bytes(&fresh);
    let r = run(&["migrate", s(&fresh), "--yes"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("fails SQLite's"), "{}", r.stderr);
    assert!(
        bytes(&fresh) == before,
        "a refused migration wrote to the file"
    );
}

/// Start `rollback` with a log, stop it with `sig` once `after` entries are undone; whether it
/// was still running then.
fn rollback_and_stop(db: &Path, log: &Path, after: usize, sig: i32) -> bool {
    let mut child = preflight()
        .args(["rollback", s(db), "--yes", "--log-file", s(log)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut finished = false;
    loop {
        let undone = std::fs::read_to_string(log)
            .map(|t| t.matches(") deleted").count())
            .unwrap_or(0);
        finished = finished || child.try_wait().unwrap().is_some();
        if finished || undone >= after || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: our child, not yet waited for
    unsafe { libc::kill(pid, sig) };
    let status = child.wait().unwrap();
    if sig != 9 && !finished {
        assert!(
            status.code() == Some(128 + sig) || status.success(),
            "{status:?}"
        );
    }
    !finished
}

/// `migrate` after a rollback that was stopped half-way (SIGINT, SIGTERM or SIGKILL after a
/// random number of entries) ends with what an uninterrupted migration leaves, and `rollback`
/// after one ends with the database as it was before the migration.
#[test]
fn a_rollback_stopped_half_way_is_finished_or_resumed_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.db");
    gunzip(&small_fixture_gz(), &original);
    let before_migration = dump(&original);
    let whole = migrated(dir.path(), "whole.db");
    let expected = content_without_clocks(&whole);
    let entries = scalar(
        &Connection::open(&whole).unwrap(),
        "SELECT count(*) FROM preflight_journal",
    ) as u64;
    assert!(entries >= 6, "{entries} journal entries");
    let mut state = 0x5DEE_CE66_D1CE_4E5Bu64;
    let mut stopped = 0;
    for (round, sig) in [2, 15, 9, 2, 15, 9].into_iter().enumerate() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let after = 1 + (state % (entries - 1)) as usize;
        let db = migrated(dir.path(), &format!("r{round}.db"));
        let log = dir.path().join(format!("r{round}.log"));
        stopped += usize::from(rollback_and_stop(&db, &log, after, sig));
        let what = format!("rollback stopped by signal {sig} after {after} entries");
        if round % 2 == 0 {
            let r = run(&["migrate", s(&db), "--yes", "--batch-size", "300"]);
            assert_eq!(r.code, 0, "{what}, then migrate: {r:?}");
            assert_same(
                &content_without_clocks(&db),
                &expected,
                &format!("{what}, then migrate"),
            );
        } else {
            let r = run(&["rollback", s(&db), "--yes"]);
            assert_eq!(r.code, 0, "{what}, then rollback: {r:?}");
            assert_same(
                &dump(&db),
                &before_migration,
                &format!("{what}, then rollback"),
            );
        }
    }
    assert!(
        stopped >= 3,
        "only {stopped} rollbacks were stopped before they finished"
    );
}
