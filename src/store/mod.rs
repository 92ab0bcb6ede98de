//! The store: the only owner of sled.
//!
//! Owns: the trees, the single writer with its group commit, the hash-chained audit log and
//! recovery. Invariants:
//! - **Durable before acknowledged.** Every state change is applied by one writer thread in
//!   a sled transaction (atomic across trees), and its reply leaves only after `flush()` and
//!   an `fsync` of sled's data file (sled 0.34's flush is only `sync_file_range`). One flush
//!   serves every change queued meanwhile, so a burst of ballots shares a handful of syncs.
//!   A failed flush or sync aborts the process: never retry and pretend.
//! - **Whether and what apart.** `casts` (vote, deputy → mark) and `ballots` (vote, random
//!   key → choices) share nothing but the vote: no deputy, token, time or order next to a
//!   choice. `receipts` holds the vote's receipt codes, keyed by the code itself.
//! - **Every change audited.** Each command appends one entry to a hash chain whose head is
//!   kept in `meta`; [`Store::open`] refuses a chain that does not verify.

mod writer;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::crypto::{self, ApplianceKey};
use crate::session::{Deputy, DomainError, ErrorKind, Vote};

pub use writer::{Actor, Command, Reply};

/// sled's page cache: small, an appliance has little data (SPEC §7).
const CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// The most commands one group commit takes.
const MAX_BATCH: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {0} cannot be opened: {1}")]
    Open(PathBuf, String),
    #[error("no appliance at {0}: run `piaojue init --data {0}` first")]
    NotInitialised(PathBuf),
    #[error(
        "the audit chain does not verify at entry {seq}: {why}. The store may have been edited; refusing to serve it"
    )]
    BrokenChain { seq: u64, why: String },
    #[error("the store is damaged: {0}")]
    Corrupt(String),
}

/// Identity of the session, written by `piaojue init`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionMeta {
    pub name: String,
    pub public_key: String,
    pub created_at: String,
    /// `pbkdf2-sha256$…` of the operator passphrase.
    pub passphrase_hash: String,
}

/// An adopted rules document, frozen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdoptedRules {
    pub sha256: String,
    pub title: String,
    pub kind: crate::rules::Kind,
    pub adopted_at: String,
    /// The document's exact bytes (UTF-8 JSON), as hashed.
    pub document: String,
}

/// What a deputy's tablet did in a vote: the "whether", never the "what".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CastMark {
    /// SHA-256 (hex) of the tablet's ballot id, so a retry gets the same receipt.
    pub ballot_id_sha256: String,
    pub receipt: Receipt,
    /// Only for a named (记名) vote: the choices, published with the deputy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_choices: Option<Vec<u8>>,
}

/// A signed receipt: the exact body bytes, their signature and the code in them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    pub body: String,
    pub signature: String,
    pub receipt_code: String,
}

/// A scrutineer (监票人): their own card and their own Ed25519 key, made on their device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scrutineer {
    pub id: String,
    pub name: String,
    /// Hex Ed25519 public key, set when their device enrols.
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
}

/// A vote's signed result, made when it closes: the body's exact bytes, the appliance's
/// signature and the scrutineers' co-signatures gathered since.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredBundle {
    pub body: String,
    pub sha256: String,
    pub appliance_signature: String,
    pub cosignatures: Vec<crate::bundle::SignatureEntry>,
}

impl StoredBundle {
    /// The published envelope: the appliance's signature first, then each co-signature.
    pub fn envelope(&self, appliance_key: &str) -> crate::bundle::Envelope {
        let mut signatures = vec![crate::bundle::SignatureEntry {
            role: "appliance".into(),
            name: None,
            public_key: appliance_key.into(),
            signature: self.appliance_signature.clone(),
        }];
        signatures.extend(self.cosignatures.iter().cloned());
        crate::bundle::Envelope::new(&self.body, signatures)
    }
}

/// Values in `codes` and `tokens` that name a scrutineer rather than a deputy (deputy ids
/// cannot hold a colon).
pub(crate) const SCRUTINEER_PREFIX: &str = "scrutineer:";

/// One audit entry as stored: its exact JSON bytes are what the chain hashes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
    /// Hash (hex) of the previous entry's bytes; 64 zeros for the first.
    pub prev: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::crypto::hex(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        crate::crypto::unhex::<32>(&text).ok_or_else(|| serde::de::Error::custom("bad hash"))
    }
}

/// The trees, by name. The order is the index into [`Trees::all`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    Meta = 0,
    Deputies,
    Codes,
    PendingCodes,
    Tokens,
    Rules,
    Votes,
    Enabled,
    Counts,
    Casts,
    Ballots,
    Receipts,
    Audit,
    Scrutineers,
    Bundles,
}

const TREE_NAMES: [&str; 15] = [
    "meta",
    "deputies",
    "codes",
    "pending_codes",
    "tokens",
    "rules",
    "votes",
    "enabled",
    "counts",
    "casts",
    "ballots",
    "receipts",
    "audit",
    "scrutineers",
    "bundles",
];

#[derive(Debug, Clone)]
pub(crate) struct Trees {
    all: Vec<sled::Tree>,
}

impl Trees {
    fn open(db: &sled::Db) -> sled::Result<Trees> {
        let all = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<sled::Result<Vec<_>>>()?;
        Ok(Trees { all })
    }
    pub(crate) fn get(&self, t: T) -> &sled::Tree {
        &self.all[t as usize]
    }
}

/// `vote ‖ 0 ‖ rest`: keys scoped to a vote, scanned by prefix.
pub(crate) fn scoped(vote: &str, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(vote.len() + 1 + rest.len());
    k.extend_from_slice(vote.as_bytes());
    k.push(0);
    k.extend_from_slice(rest);
    k
}

fn prefix(vote: &str) -> Vec<u8> {
    scoped(vote, b"")
}

/// The appliance's store: reads are direct, changes go through [`Store::apply`].
#[derive(Debug, Clone)]
pub struct Store {
    trees: Trees,
    jobs: mpsc::Sender<writer::Job>,
    meta: Arc<SessionMeta>,
    key: Arc<ApplianceKey>,
    presence_epoch: Arc<std::sync::atomic::AtomicU64>,
    /// SHA-256 of each opened vote's signed ballot (it never changes once signed).
    ballot_hashes: Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

fn store_dir(data: &Path) -> PathBuf {
    data.join("store")
}

fn open_db(data: &Path) -> Result<sled::Db, StoreError> {
    let dir = store_dir(data);
    let config = sled::Config::new()
        .path(&dir)
        .cache_capacity(CACHE_BYTES)
        // Our own group commit flushes; the background flusher only adds I/O.
        .flush_every_ms(None);
    // sled's threads may hold a just-closed store's lock for a moment: wait up to 2 s for
    // it, so `init` then `serve` in one process works. Another live process still fails.
    let mut tries = 0;
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock && tries < 100 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => {
                let hint = if matches!(&e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock)
                {
                    " (is another piaojue serving this data directory?)"
                } else {
                    ""
                };
                return Err(StoreError::Open(dir, format!("{e}{hint}")));
            }
        }
    }
}

/// `flush()` and then a real `fsync` of sled's files: what makes a change power-cut durable.
pub(crate) fn sync(db: &sled::Db, data: &Path) -> std::io::Result<()> {
    db.flush().map_err(std::io::Error::other)?;
    let dir = store_dir(data);
    fs::File::open(dir.join("db"))?.sync_all()?;
    Ok(())
}

impl Store {
    /// Creates the store of a new appliance. Refuses if one exists.
    pub fn create(data: &Path, meta: &SessionMeta) -> Result<(), StoreError> {
        if store_dir(data).exists() {
            return Err(StoreError::Open(
                store_dir(data),
                "an appliance already exists here; refusing to overwrite it".into(),
            ));
        }
        let db = open_db(data)?;
        let trees =
            Trees::open(&db).map_err(|e| StoreError::Open(store_dir(data), e.to_string()))?;
        let mut w = writer::Writer::new(db.clone(), trees, data.to_path_buf(), None, meta.clone())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        w.create(meta)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sync(&db, data).map_err(|e| StoreError::Open(store_dir(data), e.to_string()))?;
        // The directory entries of sled's new files must reach the disk too.
        for dir in [store_dir(data), data.to_path_buf()] {
            fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StoreError::Open(dir.clone(), e.to_string()))?;
        }
        Ok(())
    }

    /// Opens an appliance's store, checks the audit chain and starts the writer.
    pub fn open(data: &Path, key: Arc<ApplianceKey>) -> Result<Store, StoreError> {
        if !store_dir(data).join("db").exists() {
            return Err(StoreError::NotInitialised(data.to_path_buf()));
        }
        let db = open_db(data)?;
        let trees =
            Trees::open(&db).map_err(|e| StoreError::Open(store_dir(data), e.to_string()))?;
        let meta: SessionMeta = read_json(trees.get(T::Meta), b"session")?
            .ok_or_else(|| StoreError::NotInitialised(data.to_path_buf()))?;
        if meta.public_key != key.public_hex() {
            return Err(StoreError::Corrupt(
                "the key file does not match the appliance key recorded in the store".into(),
            ));
        }
        let head = verify_chain(&trees)?;
        let mut w = writer::Writer::new(
            db,
            trees.clone(),
            data.to_path_buf(),
            Some(key.clone()),
            meta.clone(),
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        w.set_head(head);
        let presence_epoch = w.presence_epoch.clone();
        let (tx, rx) = mpsc::channel(MAX_BATCH * 2);
        std::thread::Builder::new()
            .name("piaojue-writer".into())
            .spawn(move || w.run(rx, MAX_BATCH))
            .map_err(|e| StoreError::Open(store_dir(data), e.to_string()))?;
        Ok(Store {
            trees,
            jobs: tx,
            meta: Arc::new(meta),
            key,
            presence_epoch,
            ballot_hashes: Arc::default(),
        })
    }

    /// Changes whenever a deputy's record (presence, tablet) changes.
    pub fn presence_epoch(&self) -> u64 {
        self.presence_epoch
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    /// Applies a change durably; the reply is sent only once it is on disk.
    pub async fn apply(&self, command: Command) -> Result<Reply, DomainError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(writer::Job { command, reply })
            .await
            .map_err(|_| internal("the store's writer has stopped"))?;
        rx.await
            .map_err(|_| internal("the store's writer has stopped"))?
    }

    /// Casts a ballot. The receipt is signed here, on the caller's thread, so that signatures
    /// run in parallel and the single writer only checks and stores; a receipt code that
    /// happens to be taken already is drawn again.
    pub async fn cast(
        &self,
        vote: &str,
        deputy: &str,
        request: crate::ballot::CastRequest,
    ) -> Result<Receipt, DomainError> {
        let ballot_sha256 = self.ballot_sha256(vote)?;
        for _ in 0..3 {
            let receipt_code = crate::ballot::new_receipt_code().map_err(to_internal)?;
            let body = crate::ballot::ReceiptBody {
                format: crate::ballot::RECEIPT_FORMAT.into(),
                appliance_key: self.meta.public_key.clone(),
                vote_id: vote.into(),
                receipt_code: receipt_code.clone(),
                ballot_sha256: ballot_sha256.clone(),
            }
            .body();
            let signature = crypto::hex(&self.key.sign(crypto::Domain::Receipt, body.as_bytes()));
            let receipt = Receipt {
                body,
                signature,
                receipt_code,
            };
            match self
                .apply(Command::Cast {
                    vote: vote.into(),
                    deputy: deputy.into(),
                    request: request.clone(),
                    receipt,
                })
                .await
            {
                Ok(Reply::Receipt(r)) => return Ok(r),
                Err(e) if e.code == writer::RECEIPT_COLLISION => continue,
                Err(e) => return Err(e),
                Ok(_) => return Err(internal("unexpected reply to a cast")),
            }
        }
        Err(internal("no free receipt code"))
    }

    fn ballot_sha256(&self, vote: &str) -> Result<String, DomainError> {
        let mut cache = self.ballot_hashes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = cache.get(vote) {
            return Ok(h.clone());
        }
        let v = self
            .vote(vote)?
            .ok_or_else(|| DomainError::not_found("vote_unknown", format!("没有表决 {vote}")))?;
        let Some(ballot) = v.ballot else {
            // Not open yet: the writer gives the precise refusal.
            return Ok(String::new());
        };
        let h = crypto::sha256_hex(ballot.body.as_bytes());
        cache.insert(vote.to_string(), h.clone());
        Ok(h)
    }

    pub fn deputy(&self, id: &str) -> Result<Option<Deputy>, DomainError> {
        read_json(self.trees.get(T::Deputies), id.as_bytes()).map_err(to_internal)
    }

    /// Every deputy, in roster order (ids sort as imported only by chance; callers sort).
    pub fn deputies(&self) -> Result<Vec<Deputy>, DomainError> {
        scan_json(self.trees.get(T::Deputies), b"").map_err(to_internal)
    }

    pub fn deputy_by_token(&self, token_sha256: &str) -> Result<Option<Deputy>, DomainError> {
        match self
            .trees
            .get(T::Tokens)
            .get(token_sha256.as_bytes())
            .map_err(to_internal)?
        {
            Some(id) if !id.starts_with(SCRUTINEER_PREFIX.as_bytes()) => {
                self.deputy(&String::from_utf8_lossy(&id))
            }
            _ => Ok(None),
        }
    }

    pub fn scrutineer_by_token(
        &self,
        token_sha256: &str,
    ) -> Result<Option<Scrutineer>, DomainError> {
        let Some(v) = self
            .trees
            .get(T::Tokens)
            .get(token_sha256.as_bytes())
            .map_err(to_internal)?
        else {
            return Ok(None);
        };
        match String::from_utf8_lossy(&v).strip_prefix(SCRUTINEER_PREFIX) {
            Some(id) => {
                read_json(self.trees.get(T::Scrutineers), id.as_bytes()).map_err(to_internal)
            }
            None => Ok(None),
        }
    }

    pub fn bundle(&self, vote: &str) -> Result<Option<StoredBundle>, DomainError> {
        read_json(self.trees.get(T::Bundles), vote.as_bytes()).map_err(to_internal)
    }

    pub fn scrutineers(&self) -> Result<Vec<Scrutineer>, DomainError> {
        scan_json(self.trees.get(T::Scrutineers), b"").map_err(to_internal)
    }

    pub fn pending_codes(&self) -> Result<Vec<(String, String)>, DomainError> {
        self.trees
            .get(T::PendingCodes)
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(to_internal)?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                ))
            })
            .collect()
    }

    pub fn rules(&self, sha256: &str) -> Result<Option<AdoptedRules>, DomainError> {
        read_json(self.trees.get(T::Rules), sha256.as_bytes()).map_err(to_internal)
    }

    pub fn rules_list(&self) -> Result<Vec<AdoptedRules>, DomainError> {
        scan_json(self.trees.get(T::Rules), b"").map_err(to_internal)
    }

    pub fn vote(&self, id: &str) -> Result<Option<Vote>, DomainError> {
        read_json(self.trees.get(T::Votes), id.as_bytes()).map_err(to_internal)
    }

    /// Every vote, in creation order.
    pub fn votes(&self) -> Result<Vec<Vote>, DomainError> {
        let mut votes: Vec<Vote> = scan_json(self.trees.get(T::Votes), b"").map_err(to_internal)?;
        votes.sort_by_key(|v| {
            v.id.trim_start_matches('v')
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        });
        Ok(votes)
    }

    /// Ballots cast so far in a vote (a count, never their content).
    pub fn turnout(&self, vote: &str) -> Result<u64, DomainError> {
        read_u64(self.trees.get(T::Counts), vote.as_bytes()).map_err(to_internal)
    }

    pub fn is_enabled(&self, vote: &str, deputy: &str) -> Result<bool, DomainError> {
        self.trees
            .get(T::Enabled)
            .contains_key(scoped(vote, deputy.as_bytes()))
            .map_err(to_internal)
    }

    pub fn cast_mark(&self, vote: &str, deputy: &str) -> Result<Option<CastMark>, DomainError> {
        read_json(self.trees.get(T::Casts), &scoped(vote, deputy.as_bytes())).map_err(to_internal)
    }

    /// The deputies who cast in a vote (for 未按 and named votes), with their marks.
    pub fn cast_marks(&self, vote: &str) -> Result<Vec<(String, CastMark)>, DomainError> {
        Store::marks_in(&self.trees, vote)
    }

    pub(crate) fn marks_in(
        trees: &Trees,
        vote: &str,
    ) -> Result<Vec<(String, CastMark)>, DomainError> {
        let p = prefix(vote);
        trees
            .get(T::Casts)
            .scan_prefix(&p)
            .map(|kv| {
                let (k, v) = kv.map_err(to_internal)?;
                let id = String::from_utf8_lossy(&k[p.len()..]).into_owned();
                let mark = serde_json::from_slice(&v).map_err(to_internal)?;
                Ok((id, mark))
            })
            .collect()
    }

    /// A vote's receipt codes, sorted.
    pub fn receipts(&self, vote: &str) -> Result<Vec<String>, DomainError> {
        Store::receipts_in(&self.trees, vote)
    }

    pub(crate) fn receipts_in(trees: &Trees, vote: &str) -> Result<Vec<String>, DomainError> {
        let p = prefix(vote);
        trees
            .get(T::Receipts)
            .scan_prefix(&p)
            .keys()
            .map(|k| {
                let k = k.map_err(to_internal)?;
                Ok(String::from_utf8_lossy(&k[p.len()..]).into_owned())
            })
            .collect()
    }

    /// A vote's stored ballots (choices only), in the order of their random keys.
    pub fn ballots(&self, vote: &str) -> Result<Vec<Vec<u8>>, DomainError> {
        ballots(&self.trees, vote)
    }

    pub fn audit_head(&self) -> Result<ChainHead, DomainError> {
        Ok(read_json(self.trees.get(T::Meta), b"audit_head")
            .map_err(to_internal)?
            .unwrap_or(ChainHead {
                seq: 0,
                hash: [0; 32],
            }))
    }

    /// Audit entries from `from` (1-based), at most `limit`.
    pub fn audit(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>, DomainError> {
        self.trees
            .get(T::Audit)
            .range(from.to_be_bytes()..)
            .take(limit)
            .map(|kv| {
                let (_, v) = kv.map_err(to_internal)?;
                serde_json::from_slice(&v).map_err(to_internal)
            })
            .collect()
    }

    /// Re-checks the whole audit chain (also done at start-up).
    pub fn verify_chain(&self) -> Result<ChainHead, StoreError> {
        verify_chain(&self.trees)
    }

    /// Every tree's name and every value's bytes: for tests that look for links.
    #[doc(hidden)]
    pub fn dump(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for (i, name) in TREE_NAMES.iter().enumerate() {
            for (k, v) in self.trees.all[i].iter().flatten() {
                out.push((name.to_string(), k.to_vec(), v.to_vec()));
            }
        }
        out
    }
}

/// The floor of durable storage, for `piaojue floor`: `records` inserted into a fresh sled
/// store at `dir` in one batch, then one flush and one fsync, as a group commit does.
#[doc(hidden)]
pub fn floor_commit(dir: &Path, records: &[Vec<u8>]) -> Result<std::time::Duration, StoreError> {
    let db = open_db(dir)?;
    let tree = db
        .open_tree("floor")
        .map_err(|e| StoreError::Open(dir.to_path_buf(), e.to_string()))?;
    let t = std::time::Instant::now();
    let mut batch = sled::Batch::default();
    for (i, r) in records.iter().enumerate() {
        batch.insert(&(i as u64).to_be_bytes(), r.as_slice());
    }
    tree.apply_batch(batch)
        .and_then(|()| db.flush().map(|_| ()))
        .map_err(|e| StoreError::Open(dir.to_path_buf(), e.to_string()))?;
    fs::File::open(store_dir(dir).join("db"))
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Open(dir.to_path_buf(), e.to_string()))?;
    Ok(t.elapsed())
}

pub(crate) fn ballots(trees: &Trees, vote: &str) -> Result<Vec<Vec<u8>>, DomainError> {
    trees
        .get(T::Ballots)
        .scan_prefix(prefix(vote))
        .values()
        .map(|v| Ok(v.map_err(to_internal)?.to_vec()))
        .collect()
}

fn verify_chain(trees: &Trees) -> Result<ChainHead, StoreError> {
    let mut prev = [0u8; 32];
    let mut expect = 1u64;
    for kv in trees.get(T::Audit).iter() {
        let (k, v) = kv.map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let seq =
            u64::from_be_bytes(k.as_ref().try_into().map_err(|_| StoreError::BrokenChain {
                seq: expect,
                why: "an entry's key is not a sequence number".into(),
            })?);
        let broken = |why: String| StoreError::BrokenChain { seq, why };
        if seq != expect {
            return Err(StoreError::BrokenChain {
                seq: expect,
                why: format!("entry {expect} is missing (next is {seq})"),
            });
        }
        let entry: AuditEntry =
            serde_json::from_slice(&v).map_err(|e| broken(format!("unreadable entry: {e}")))?;
        if entry.seq != seq {
            return Err(broken(format!("the entry says it is number {}", entry.seq)));
        }
        if entry.prev != crypto::hex(&prev) {
            return Err(broken(
                "its link to the previous entry does not match that entry's hash".into(),
            ));
        }
        prev = crypto::sha256(&v);
        expect += 1;
    }
    let head: Option<ChainHead> = read_json(trees.get(T::Meta), b"audit_head")?;
    let last = expect - 1;
    match head {
        None if last == 0 => Ok(ChainHead {
            seq: 0,
            hash: [0; 32],
        }),
        None => Err(StoreError::BrokenChain {
            seq: last,
            why: "the recorded head of the chain is missing".into(),
        }),
        Some(h) if h.seq == last && h.hash == prev => Ok(h),
        Some(h) => Err(StoreError::BrokenChain {
            seq: last,
            why: format!(
                "the recorded head (entry {}) does not match the last entry",
                h.seq
            ),
        }),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match tree
        .get(key)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
    {
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", String::from_utf8_lossy(key)))),
        None => Ok(None),
    }
}

fn scan_json<T: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    prefix: &[u8],
) -> Result<Vec<T>, StoreError> {
    tree.scan_prefix(prefix)
        .values()
        .map(|v| {
            let v = v.map_err(|e| StoreError::Corrupt(e.to_string()))?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect()
}

fn read_u64(tree: &sled::Tree, key: &[u8]) -> Result<u64, StoreError> {
    match tree
        .get(key)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
    {
        Some(v) => Ok(u64::from_be_bytes(v.as_ref().try_into().map_err(|_| {
            StoreError::Corrupt("a counter is not 8 bytes".into())
        })?)),
        None => Ok(0),
    }
}

fn internal(message: &str) -> DomainError {
    DomainError::new(ErrorKind::Internal, "internal", message)
}

fn to_internal(e: impl std::fmt::Display) -> DomainError {
    tracing::error!(error = %e, "store read failed");
    internal("存储读取失败")
}
