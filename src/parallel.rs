//! Work spread over threads, each with its own database handle.

use std::sync::Mutex;

use crate::db::{Db, DbError};

/// Threads worth using on a local file: the cores, at most four.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

/// Apply `f` to every item on up to `workers` threads (each worker reopens `db`; with one
/// worker, `db` itself is used; a `db` pinned to one state shares the work only with its twins,
/// the handles proved to read that very state, and keeps it all when it has none). Results come
/// back in the items' order; the first error wins.
pub fn map<T, R, F>(db: &dyn Db, workers: usize, items: Vec<T>, f: F) -> Result<Vec<R>, DbError>
where
    T: Send,
    R: Send,
    F: Fn(&dyn Db, T) -> Result<R, DbError> + Sync,
{
    let n = items.len();
    let pinned = db.pinned();
    let mut twins = if pinned && workers > 1 && n > 1 {
        db.twins()
    } else {
        Vec::new()
    };
    if workers <= 1 || n <= 1 || (pinned && twins.is_empty()) {
        return items.into_iter().map(|it| f(db, it)).collect();
    }
    twins.truncate(workers.min(n) - 1);
    let queue: Mutex<Vec<(usize, T)>> = Mutex::new(items.into_iter().enumerate().rev().collect());
    let results: Mutex<Vec<Option<Result<R, DbError>>>> =
        Mutex::new((0..n).map(|_| None).collect());
    let work = |handle: &dyn Db| {
        loop {
            let next = queue.lock().expect("queue").pop();
            let Some((i, item)) = next else { break };
            let r = f(handle, item);
            let failed = r.is_err();
            results.lock().expect("results")[i] = Some(r);
            if failed {
                queue.lock().expect("queue").clear();
                break;
            }
        }
    };
    if pinned {
        // this handle works on this thread, each twin on one of its own
        std::thread::scope(|s| {
            for twin in twins {
                let work = &work;
                s.spawn(move || work(twin));
            }
            work(db);
        });
    } else {
        let handles: Vec<Box<dyn Db>> = (0..workers.min(n))
            .map(|_| db.reopen())
            .collect::<Result<_, _>>()?;
        std::thread::scope(|s| {
            for handle in handles {
                let work = &work;
                s.spawn(move || work(handle.as_ref()));
            }
        });
    }
    let mut out = Vec::with_capacity(n);
    let mut first_error = None;
    for r in results.into_inner().expect("results") {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) if first_error.is_none() => first_error = Some(e),
            // later errors, and items skipped once an error stopped the queue
            _ => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
