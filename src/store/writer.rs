//! The single writer: runs the session's changes one at a time on one thread, each against a
//! [`Tx`] that buffers its writes and its audit entries, and answers a batch only after one
//! transaction, one flush and one fsync cover all of it.
//!
//! It knows nothing of what a change means: the session's transitions (`crate::session`) are
//! closures it runs. It owns the order, the atomicity of each change, the hash chain and the
//! rule that nothing is answered before it is on disk.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLockWriteGuard};

use piaojue_core::crypto;
use piaojue_core::refusal::Refusal;
use sled::Transactional;
use tokio::sync::mpsc;

use super::{
    Actor, AuditEntry, ChainHead, Locks, ON_WRITER, Synced, T, Trees, internal, storage_failed,
};

/// One buffered write: a tree, a key, and the new value (`None` removes).
type Write = (T, Vec<u8>, Option<Vec<u8>>);

/// What a job's closure hands back to the writer: whether its writes are kept, and how to
/// deliver its answer once they are durable.
pub(super) struct Done {
    pub keep: bool,
    pub deliver: Box<dyn FnOnce() + Send>,
}

/// A change waiting for the writer.
pub(super) struct Job {
    /// A batched job (a cast) joins the batch's running transaction and reads only by key; an
    /// exclusive job first commits what is pending, so its scans see everything before it.
    pub batched: bool,
    pub run: Box<dyn FnOnce(&mut Tx<'_>) -> Done + Send>,
}

/// One change in progress: reads see this change's own writes, then the batch's pending
/// writes, then the store; writes are buffered until the change succeeds.
pub struct Tx<'a> {
    pub(super) trees: &'a Trees,
    pending: &'a HashMap<(T, Vec<u8>), Option<Vec<u8>>>,
    head: ChainHead,
    writes: Vec<Write>,
    audit: Vec<(Actor, &'static str, serde_json::Value)>,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("writes", &self.writes.len())
            .field("audit", &self.audit.len())
            .finish()
    }
}

impl Tx<'_> {
    pub(super) fn get(&self, t: T, key: &[u8]) -> Result<Option<Vec<u8>>, Refusal> {
        if let Some((_, _, v)) = self
            .writes
            .iter()
            .rev()
            .find(|(wt, k, _)| *wt == t && k == key)
        {
            return Ok(v.clone());
        }
        if let Some(v) = self.pending.get(&(t, key.to_vec())) {
            return Ok(v.clone());
        }
        Ok(self
            .trees
            .get(t)
            .get(key)
            .map_err(internal)?
            .map(|v| v.to_vec()))
    }

    pub(super) fn get_json<V: serde::de::DeserializeOwned>(
        &self,
        t: T,
        key: &[u8],
    ) -> Result<Option<V>, Refusal> {
        match self.get(t, key)? {
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(internal),
            None => Ok(None),
        }
    }

    pub(super) fn contains(&self, t: T, key: &[u8]) -> Result<bool, Refusal> {
        Ok(self.get(t, key)?.is_some())
    }

    pub(super) fn put(&mut self, t: T, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push((t, key.into(), Some(value.into())));
    }

    pub(super) fn put_json(
        &mut self,
        t: T,
        key: impl Into<Vec<u8>>,
        value: &impl serde::Serialize,
    ) -> Result<(), Refusal> {
        let bytes = serde_json::to_vec(value).map_err(internal)?;
        self.put(t, key, bytes);
        Ok(())
    }

    pub(super) fn del(&mut self, t: T, key: impl Into<Vec<u8>>) {
        self.writes.push((t, key.into(), None));
    }

    /// Records this change in the audit log (in order, with the change's writes).
    pub fn audit(&mut self, actor: Actor, action: &'static str, detail: serde_json::Value) {
        self.audit.push((actor, action, detail));
    }

    /// The head of the audit chain just before this change.
    pub fn audit_head(&self) -> ChainHead {
        self.head
    }
}

/// Aborts the process if the writer's thread unwinds (a change panicked): readers must not
/// see what it committed and did not sync, and a writer that is gone answers nothing again.
/// The restart syncs whatever the page cache holds before it serves.
struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!("a change panicked on the store's writer; stopping");
            std::process::abort();
        }
    }
}

/// The writer's state, owned by its thread.
pub(super) struct Writer {
    db: sled::Db,
    trees: Trees,
    synced: Synced,
    /// One per tree, held (write) from a batch's first commit to that tree until the batch's
    /// sync has returned: readers see only durable state.
    durable: Locks,
    head: ChainHead,
    /// Bumped whenever a deputy's record changes, so readers know when attendance moved.
    pub(super) presence_epoch: Arc<AtomicU64>,
}

/// A batch in progress: writes and audit entries of the changes kept so far, not committed.
#[derive(Default)]
struct Pending {
    by_key: HashMap<(T, Vec<u8>), Option<Vec<u8>>>,
    writes: Vec<Write>,
}

impl Writer {
    pub(super) fn new(
        db: sled::Db,
        trees: Trees,
        data: &Path,
        head: ChainHead,
        durable: Locks,
    ) -> Writer {
        Writer {
            db,
            trees,
            synced: Synced::new(data),
            durable,
            head,
            presence_epoch: Arc::default(),
        }
    }

    /// Carries on from what the opener already synced.
    pub(super) fn synced(mut self, synced: Synced) -> Writer {
        self.synced = synced;
        self
    }

    /// Runs one job alone and makes it durable: for `init`, before any server runs.
    pub(super) fn run_one(&mut self, job: Job) -> std::io::Result<()> {
        let mut pending = Pending::default();
        let deliver = self.run_job(job, &mut pending);
        let durable = self.durable.clone();
        let mut held = Vec::new();
        self.commit(&mut pending, &durable, &mut held);
        self.synced.sync(&self.db)?;
        deliver();
        Ok(())
    }

    /// Drains the queue: every job of a batch run, their kept writes committed (casts share a
    /// transaction), then one flush + fsync, then every answer. From the batch's first commit
    /// until its answers are handed over, the writer holds the readers' lock: sled shows a
    /// commit at once, and nothing that is not on disk may be read. A failed commit or sync
    /// stops the process with [`super::EXIT_STORAGE_FAILED`], the lock still held: the
    /// acknowledged state must be the stored state.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
        ON_WRITER.set(true);
        let durable = self.durable.clone();
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let mut pending = Pending::default();
            let mut answers = Vec::with_capacity(batch.len());
            let mut held = Vec::new();
            // Dropped before `held`: a panicking change must not release the lock on a
            // committed, unsynced state.
            let _stop = AbortOnPanic;
            for job in batch {
                if !job.batched {
                    self.commit(&mut pending, &durable, &mut held);
                }
                answers.push(self.run_job(job, &mut pending));
            }
            self.commit(&mut pending, &durable, &mut held);
            if !held.is_empty()
                && let Err(e) = self.synced.sync(&self.db)
            {
                storage_failed("the store could not be synced to disk", &e);
            }
            for deliver in answers {
                deliver();
            }
            drop(held);
        }
    }

    /// Runs a job against the store and the batch so far; keeps its writes (with its audit
    /// entries chained) if it succeeded.
    fn run_job(&mut self, job: Job, pending: &mut Pending) -> Box<dyn FnOnce() + Send> {
        let mut tx = Tx {
            trees: &self.trees,
            pending: &pending.by_key,
            head: self.head,
            writes: Vec::new(),
            audit: Vec::new(),
        };
        let done = (job.run)(&mut tx);
        if !done.keep {
            return done.deliver;
        }
        let Tx { writes, audit, .. } = tx;
        let time = crate::session::now();
        let mut chained = Vec::with_capacity(audit.len());
        for (actor, action, detail) in audit {
            let entry = AuditEntry {
                seq: self.head.seq + 1,
                time: time.clone(),
                actor: actor.name(),
                action: action.into(),
                detail,
                prev: crypto::hex(&self.head.hash),
            };
            let Ok(bytes) = serde_json::to_vec(&entry) else {
                tracing::error!("an audit entry could not be encoded; stopping");
                std::process::abort();
            };
            self.head = ChainHead {
                seq: entry.seq,
                hash: crypto::sha256(&bytes),
            };
            chained.push((T::Audit, entry.seq.to_be_bytes().to_vec(), Some(bytes)));
        }
        for (t, k, v) in writes.into_iter().chain(chained) {
            pending.by_key.insert((t, k.clone()), v.clone());
            pending.writes.push((t, k, v));
        }
        done.deliver
    }

    /// Commits the pending writes and the new chain head in one sled transaction, taking the
    /// readers' lock of each tree it writes first (kept until the batch's sync).
    fn commit<'l>(
        &mut self,
        pending: &mut Pending,
        durable: &'l Locks,
        held: &mut Vec<(usize, RwLockWriteGuard<'l, ()>)>,
    ) {
        if pending.writes.is_empty() {
            return;
        }
        let mut writes = std::mem::take(&mut pending.writes);
        pending.by_key.clear();
        let Ok(head_bytes) = serde_json::to_vec(&self.head) else {
            tracing::error!("the chain head could not be encoded; stopping");
            std::process::abort();
        };
        writes.push((T::Meta, b"audit_head".to_vec(), Some(head_bytes)));
        // Only the trees these writes touch take part: a transaction's cost grows with them.
        let mut used: Vec<usize> = writes.iter().map(|(t, _, _)| *t as usize).collect();
        used.sort_unstable();
        used.dedup();
        let slot = |t: T| used.iter().position(|&u| u == t as usize).unwrap_or(0);
        for &i in &used {
            if !held.iter().any(|(h, _)| *h == i) {
                let guard = durable[i].write().unwrap_or_else(PoisonError::into_inner);
                held.push((i, guard));
            }
        }
        let trees: Vec<&sled::Tree> = used.iter().map(|&i| self.trees.by_index(i)).collect();
        let result: sled::transaction::TransactionResult<(), ()> =
            trees.as_slice().transaction(|t| {
                for (tree, key, value) in &writes {
                    let tree = &t[slot(*tree)];
                    match value {
                        Some(v) => {
                            tree.insert(key.as_slice(), v.as_slice())?;
                        }
                        None => {
                            tree.remove(key.as_slice())?;
                        }
                    }
                }
                Ok(())
            });
        if let Err(e) = result {
            // A failed transaction on the single writer means storage trouble: stop rather
            // than answer from a state that is not stored.
            storage_failed("a store transaction failed", &format!("{e:?}"));
        }
        if writes.iter().any(|(t, _, _)| *t == T::Deputies) {
            self.presence_epoch.fetch_add(1, Ordering::Release);
        }
    }
}
