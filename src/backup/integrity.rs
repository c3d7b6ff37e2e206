//! Integrity of an extracted database: everything `PRAGMA integrity_check` verifies, spread over
//! the available cores.
//!
//! `PRAGMA integrity_check(TABLE)` checks one table and its indexes (b-tree structure, record
//! format, index entries against table rows, UNIQUE and NOT NULL constraints); the whole-file form
//! adds a page census (no page lost, none used twice, the freelist sound). Here the per-table
//! checks run on parallel read-only connections, and the census is done once: every page of the
//! file must belong to exactly one b-tree (from `dbstat`) or to the freelist (walked from the
//! header), with nothing left over.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// The first problem found, as SQLite words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

fn open_ro(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // the file was just written and sits in the kernel's page cache: a small cache of its own
    conn.execute_batch("PRAGMA cache_size = -16384;")?;
    crate::interrupt::watch(&mut conn, std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// Check the database at `path`; Ok(None) when it is sound. Corruption that stops SQLite from
/// reading the file at all is a problem found, not an error.
pub fn check(path: &Path) -> rusqlite::Result<Option<Problem>> {
    match check_inner(path) {
        Err(rusqlite::Error::SqliteFailure(e, msg))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            Ok(Some(Problem(msg.unwrap_or_else(|| e.to_string()))))
        }
        other => other,
    }
}

fn check_inner(path: &Path) -> rusqlite::Result<Option<Problem>> {
    let (problem, work) = census_and_work(path)?;
    if problem.is_some() {
        return Ok(problem);
    }
    let mut sizes: Vec<(String, i64)> = work.into_iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let workers = crate::parallel::cores();
    // largest first, each to the least loaded worker
    let mut queues: Vec<(i64, Vec<String>)> = vec![(0, Vec::new()); workers];
    for (table, cost) in sizes {
        let q = queues.iter_mut().min_by_key(|q| q.0).expect("a worker");
        q.0 += cost;
        q.1.push(table);
    }
    let results: Vec<rusqlite::Result<Option<Problem>>> = std::thread::scope(|s| {
        let handles: Vec<_> = queues
            .into_iter()
            .filter(|q| !q.1.is_empty())
            .map(|(_, tables)| {
                s.spawn(move || -> rusqlite::Result<Option<Problem>> {
                    let conn = open_ro(path)?;
                    for t in tables {
                        if let Some(p) = check_table(&conn, &t, "integrity_check")? {
                            return Ok(Some(p));
                        }
                    }
                    Ok(None)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("integrity worker panicked"))
            .collect()
    });
    for r in results {
        if let Some(p) = r? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// The page census (every page used exactly once) and, per table, the work its per-table check
/// will take (its rows plus its index entries).
pub fn census_and_work(path: &Path) -> rusqlite::Result<(Option<Problem>, BTreeMap<String, i64>)> {
    let conn = open_ro(path)?;
    // Which table each b-tree (table or index) belongs to.
    let owner: BTreeMap<String, String> = conn
        .prepare("SELECT name, tbl_name FROM sqlite_schema WHERE rootpage > 0")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // One pass over every b-tree page: the census, and the work per table (its rows plus its
    // index entries), which decides the schedule.
    let mut census: Vec<u32> = Vec::new();
    let mut work: BTreeMap<String, i64> = BTreeMap::new();
    {
        let mut stmt = conn.prepare("SELECT name, pageno, ncell FROM dbstat")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let name = r.get_ref(0)?.as_str()?;
            census.push(r.get::<_, i64>(1)? as u32);
            let table = owner.get(name).map_or(name, |t| t.as_str());
            if let Some(w) = work.get_mut(table) {
                *w += 1 + r.get::<_, i64>(2)?;
            } else {
                work.insert(table.to_string(), 1 + r.get::<_, i64>(2)?);
            }
        }
    }
    Ok((page_census(&conn, path, census)?, work))
}

/// `PRAGMA integrity_check(TABLE)` (or `quick_check`): one table and its indexes.
pub fn check_table(
    conn: &Connection,
    table: &str,
    pragma: &str,
) -> rusqlite::Result<Option<Problem>> {
    let sql = format!("PRAGMA {pragma}({})", crate::sql::ident(table));
    let first: String = conn.query_row(&sql, [], |r| r.get(0))?;
    Ok((first != "ok").then(|| Problem(format!("table {table}: {first}"))))
}

/// Every page used exactly once: by one b-tree, by the freelist, or as a pointer-map or
/// lock-byte page.
fn page_census(
    conn: &Connection,
    path: &Path,
    btree_pages: Vec<u32>,
) -> rusqlite::Result<Option<Problem>> {
    let page_count: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let auto_vacuum: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    let n = page_count as u32;
    let mut used = vec![false; n as usize + 1];
    let mut mark = |page: u32, what: &str| -> Option<Problem> {
        if page == 0 || page > n {
            return Some(Problem(format!(
                "{what} refers to page {page}, outside the file's {n} pages"
            )));
        }
        if std::mem::replace(&mut used[page as usize], true) {
            return Some(Problem(format!("page {page} is used twice ({what})")));
        }
        None
    };
    for p in btree_pages {
        if let Some(problem) = mark(p, "a b-tree") {
            return Ok(Some(problem));
        }
    }
    match freelist_pages(path, page_size as u64) {
        Ok(pages) => {
            for p in pages {
                if let Some(problem) = mark(p, "the freelist") {
                    return Ok(Some(problem));
                }
            }
        }
        Err(e) => return Ok(Some(Problem(format!("freelist unreadable: {e}")))),
    }
    let lock_page = (1u64 << 30) / page_size as u64 + 1;
    if lock_page <= n as u64 {
        used[lock_page as usize] = true;
    }
    if auto_vacuum != 0 {
        // pointer-map pages: page 2, then every (usable/5 + 1) pages
        let per = page_size as u32 / 5 + 1;
        let mut p = 2u32;
        while p <= n {
            used[p as usize] = true;
            p += per;
            if p as u64 == lock_page {
                p += 1;
            }
        }
    }
    if let Some(p) = (1..=n).find(|&p| !used[p as usize]) {
        return Ok(Some(Problem(format!("page {p} is never used"))));
    }
    Ok(None)
}

/// Walk the freelist from the database header: trunk pages and the leaf pages they list.
fn freelist_pages(path: &Path, page_size: u64) -> std::io::Result<Vec<u32>> {
    let mut f = std::fs::File::open(path)?;
    let mut header = [0u8; 100];
    f.read_exact(&mut header)?;
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mut trunk = be(&header[32..36]);
    let total = be(&header[36..40]) as usize;
    let mut pages = Vec::with_capacity(total);
    let mut seen = BTreeSet::new();
    let mut buf = vec![0u8; page_size as usize];
    while trunk != 0 {
        if !seen.insert(trunk) || pages.len() > total {
            return Err(std::io::Error::other("the freelist loops"));
        }
        pages.push(trunk);
        f.seek(SeekFrom::Start((trunk as u64 - 1) * page_size))?;
        f.read_exact(&mut buf)?;
        let next = be(&buf[0..4]);
        let leaves = be(&buf[4..8]) as usize;
        if leaves > (page_size as usize - 8) / 4 {
            return Err(std::io::Error::other(format!(
                "freelist trunk page {trunk} claims {leaves} leaves"
            )));
        }
        for k in 0..leaves {
            pages.push(be(&buf[8 + 4 * k..12 + 4 * k]));
        }
        trunk = next;
    }
    if pages.len() != total {
        return Err(std::io::Error::other(format!(
            "the header counts {total} freelist pages, the freelist holds {}",
            pages.len()
        )));
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with_free_pages() -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        let c = Connection::open(f.path()).unwrap();
        c.execute_batch(
            "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000)
             INSERT INTO t SELECT i, printf('%0200d', i) FROM n;
             DELETE FROM t WHERE a > 1000;",
        )
        .unwrap();
        let free: i64 = c
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .unwrap();
        assert!(free > 10, "the test needs a freelist");
        f
    }

    #[test]
    fn sound_database_with_a_freelist_passes() {
        let f = db_with_free_pages();
        assert_eq!(check(f.path()).unwrap(), None);
    }

    #[test]
    fn freelist_count_that_lies_is_caught() {
        let f = db_with_free_pages();
        let mut bytes = std::fs::read(f.path()).unwrap();
        let count = u32::from_be_bytes(bytes[36..40].try_into().unwrap());
        bytes[36..40].copy_from_slice(&(count - 1).to_be_bytes());
        std::fs::write(f.path(), &bytes).unwrap();
        let p = check(f.path()).unwrap().expect("a problem");
        assert!(p.0.contains("freelist"), "{p:?}");
    }

    #[test]
    fn garbled_index_page_is_caught() {
        let f = db_with_free_pages();
        let c = Connection::open(f.path()).unwrap();
        let root: i64 = c
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE type = 'index'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        drop(c);
        let mut bytes = std::fs::read(f.path()).unwrap();
        // cell content grows from the end of the page: garble the last cells of the index root
        let at = root as usize * 4096 - 64;
        for b in &mut bytes[at..at + 64] {
            *b ^= 0x5a;
        }
        std::fs::write(f.path(), &bytes).unwrap();
        let full: String = Connection::open(f.path())
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap_or_else(|e| e.to_string());
        assert_ne!(full, "ok", "the test must really damage the file");
        let p = check(f.path()).unwrap();
        assert!(p.is_some(), "a garbled index page must be reported");
    }
}
