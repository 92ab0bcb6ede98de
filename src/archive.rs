//! `piaojue archive DATA_DIR OUT` and `piaojue verify --archive`: the session for the 档案 as
//! one plain tar (docs/procedures.md says why tar): the appliance-signed manifest, every
//! bundle in chain order, the 测评 source bundles and the printable report. Writing opens
//! the store (so only a stopped appliance's data directory); reading checks every entry's
//! name and size before [`piaojue_core::archive::verify`] checks the content.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use piaojue_core::archive::{
    self, FileRef, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, ManifestEnvelope, REPORT_FILE,
    VoteEntry,
};
use piaojue_core::bundle::{AuditHead, MAX_BUNDLE_BYTES};
use piaojue_core::crypto;
use piaojue_core::procedure::Decided;

use crate::session::{Mode, Session, VoteState};
use crate::store::Store;

/// The most an archive may hold in all (a session of many encrypted votes of 3,000 ballots).
pub const MAX_ARCHIVE_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// The most entries an archive may hold.
const MAX_ENTRIES: usize = 10_000;

/// Writes the archive of the session in `data` to `out`; returns the manifest.
pub async fn write(data: &Path, out: &Path) -> Result<Manifest, String> {
    let key = Arc::new(crate::appliance::load_key(data).map_err(|e| e.to_string())?);
    let store = Store::open(data, &key.public_hex())
        .map_err(|e| format!("{e} (piaojue archive reads a stopped appliance's data directory)"))?;
    let session = Session::new(store, key.clone());
    let (manifest, files) = collect(&session, &key).await?;
    write_tar(out, &files)?;
    Ok(manifest)
}

/// The session's archive as files (name → bytes): the signed manifest, every bundle in
/// chain order, the 测评 sources and the report. Also what the console's report is made of.
pub async fn collect(
    session: &Session,
    key: &crypto::ApplianceKey,
) -> Result<(Manifest, BTreeMap<String, Vec<u8>>), String> {
    let store = session.store().clone();
    let meta = store.meta().clone();
    let r = |e: piaojue_core::refusal::Refusal| e.to_string();
    let mut votes = store.votes().map_err(r)?;
    votes.sort_by_key(|v| {
        v.id.as_str()
            .strip_prefix('v')
            .and_then(|n| n.parse::<u64>().ok())
    });
    // Every result bundle, by its body's hash.
    let mut bundles: HashMap<String, (String, Vec<u8>)> = HashMap::new();
    let mut entries = Vec::new();
    let mut sources: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for v in &votes {
        let decided =
            matches!(
                v.state,
                VoteState::Closed | VoteState::Announced | VoteState::Failed
            ) && (v.mode == Mode::Plain || v.result.is_some() || v.state == VoteState::Failed);
        let bundle = if decided {
            let bytes = session.bundle_bytes(v.id.as_str()).await.map_err(r)?;
            let d = Decided::read(&bytes)?;
            bundles.insert(d.body_sha256.clone(), (v.id.to_string(), bytes));
            Some(d.body_sha256)
        } else {
            None
        };
        let source_bundle = match store.source_bundle(v.id.as_str()).map_err(r)? {
            Some(bytes) => {
                let sha = Decided::read(&bytes)?.body_sha256;
                let file = archive::source_file(&sha);
                sources.insert(file.clone(), bytes);
                Some(FileRef { file, sha256: sha })
            }
            None => None,
        };
        entries.push(VoteEntry {
            vote_id: v.id.to_string(),
            title: v.title.clone(),
            state: v.state.as_str().into(),
            mode: match v.mode {
                Mode::Plain => "plain".into(),
                Mode::Encrypted => "encrypted".into(),
            },
            reason: v.cancelled.clone().or_else(|| v.failed.clone()),
            bundle: bundle.map(|sha256| FileRef {
                file: String::new(),
                sha256,
            }),
            source_bundle,
            attendance: v.roll,
            procedure: v.procedure(),
            followed_by: v
                .revoted_by
                .clone()
                .or_else(|| v.runoff_by.clone())
                .map(|id| id.to_string()),
            chair_decision: v.chair_decision.as_ref().map(|c| c.items.clone()),
            announced_at: v.announced_at.clone(),
        });
    }
    // The chain, newest first from the store's last bundle, then reversed.
    let mut chain = Vec::new();
    let mut at = store.last_bundle().map_err(r)?;
    while let Some(sha) = at {
        let Some((_, bytes)) = bundles.get(&sha) else {
            return Err(format!(
                "the chain names bundle {sha}, which no vote of the store holds"
            ));
        };
        at = Decided::read(bytes)?.previous_bundle_sha256;
        chain.push(sha);
        if chain.len() > bundles.len() {
            return Err("the chain of bundles loops".into());
        }
    }
    chain.reverse();
    if chain.len() != bundles.len() {
        return Err(format!(
            "{} bundles but {} on the chain",
            bundles.len(),
            chain.len()
        ));
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for e in &mut entries {
        if let Some(b) = &mut e.bundle {
            let n = chain.iter().position(|h| *h == b.sha256).unwrap_or(0) + 1;
            b.file = archive::bundle_file(n, &e.vote_id);
            files.insert(b.file.clone(), bundles[&b.sha256].1.clone());
        }
    }
    files.extend(sources);
    let mut deputies = store.deputies().map_err(r)?;
    deputies.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let roster: String = deputies
        .iter()
        .map(|d| format!("{},{},{},{}\n", d.id, d.name, d.delegation, d.seat))
        .collect();
    let head = store.audit_head().map_err(r)?;
    let scrutineers = store
        .scrutineers()
        .map_err(r)?
        .into_iter()
        .filter_map(|s| {
            s.public_key
                .map(|public_key| piaojue_core::bundle::PinnedScrutineer {
                    id: s.id,
                    name: s.name,
                    public_key,
                })
        })
        .collect();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        session: meta.name.clone(),
        appliance_key: meta.public_key.clone(),
        created_at: crate::session::now(),
        demo: meta.demo,
        roster_sha256: crypto::sha256_hex(roster.as_bytes()),
        roster_count: deputies.len() as u64,
        audit_head: AuditHead {
            seq: head.seq,
            hash: crypto::hex(&head.hash),
        },
        scrutineers,
        votes: entries,
        chain,
    };
    let envelope = ManifestEnvelope::sign(&manifest, key).map_err(|e| e.to_string())?;
    files.insert(
        MANIFEST_FILE.into(),
        serde_json::to_vec_pretty(&envelope).map_err(|e| e.to_string())?,
    );
    let report = archive::report_from(&files, &manifest);
    files.insert(REPORT_FILE.into(), report.into_bytes());
    Ok((manifest, files))
}

/// A reproducible tar: fixed times, owners and modes; the manifest first.
fn write_tar(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let mut names: Vec<&String> = files.keys().collect();
    names.sort_by_key(|n| (n.as_str() != MANIFEST_FILE, n.as_str() != REPORT_FILE, *n));
    for name in names {
        let bytes = &files[name];
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, bytes.as_slice())
            .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let w = tar
        .into_inner()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let f = w
        .into_inner()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    f.sync_all()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))
}

/// Whether a name is one an archive may hold: the manifest, the report, a bundle or a source.
fn allowed_name(name: &str) -> bool {
    let ok_rest = |rest: &str| {
        rest.ends_with(".json")
            && !rest.contains('/')
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !rest.starts_with('.')
    };
    name == MANIFEST_FILE
        || name == REPORT_FILE
        || name.strip_prefix("bundles/").is_some_and(ok_rest)
        || name.strip_prefix("sources/").is_some_and(ok_rest)
}

/// Reads an archive's files, refusing what an archive never holds (links, directories,
/// other names, oversize entries, a name twice).
pub fn read(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut tar = tar::Archive::new(file.take(MAX_ARCHIVE_BYTES));
    let mut files = BTreeMap::new();
    let entries = tar
        .entries()
        .map_err(|e| format!("{}: not a tar archive: {e}", path.display()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("{}: not a tar archive: {e}", path.display()))?;
        let name = entry
            .path()
            .map_err(|e| format!("an entry's name: {e}"))?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(format!("{name}: not a regular file"));
        }
        if !allowed_name(&name) {
            return Err(format!("{name}: not a file a session archive holds"));
        }
        let size = entry.header().size().map_err(|e| format!("{name}: {e}"))?;
        if size > MAX_BUNDLE_BYTES as u64 {
            return Err(format!("{name}: {size} bytes, above the bundle limit"));
        }
        // Grown as read: a header's size is the file's word, not yet the bytes.
        let mut bytes = Vec::with_capacity((size as usize).min(1 << 20));
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        if files.insert(name.clone(), bytes).is_some() {
            return Err(format!("{name}: in the archive twice"));
        }
        if files.len() > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
    }
    if files.is_empty() {
        return Err(format!("{}: an empty archive", path.display()));
    }
    Ok(files)
}

/// `piaojue verify --archive`: reads and verifies under the pinned key (or the manifest's
/// key when its fingerprint is the pinned one); prints each check and the final lists.
pub fn verify(
    path: &Path,
    key: Option<[u8; 32]>,
    fingerprint: Option<[u8; 32]>,
    scrutineers: Option<&[[u8; 32]]>,
    json: bool,
) -> Result<bool, String> {
    let files = read(path)?;
    let key = match (key, fingerprint) {
        (Some(k), _) => k,
        (None, Some(fp)) => {
            let named = files
                .get(MANIFEST_FILE)
                .and_then(|b| serde_json::from_slice::<ManifestEnvelope>(b).ok())
                .and_then(|e| crypto::public_key(&e.appliance_key).ok())
                .ok_or_else(|| format!("{MANIFEST_FILE}: missing or not a manifest envelope"))?;
            if crypto::sha256(&named) != fp {
                return Err(format!(
                    "the archive is signed by a key with fingerprint {}, not the pinned one",
                    crypto::fingerprint_grouped(&crypto::fingerprint(&named))
                ));
            }
            named
        }
        (None, None) => return Err("pin the appliance key: --key HEX or --fingerprint".into()),
    };
    let report = tokio::task::block_in_place(|| archive::verify_with(&files, key, scrutineers));
    if json {
        crate::say!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        return Ok(report.verified);
    }
    for c in &report.checks {
        crate::say!(
            "{} {}: {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    for (root, list) in &report.final_lists {
        crate::say!("final list of {root} ({}): {}", list.len(), list.join("、"));
    }
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    if report.verified {
        crate::say!(
            "VERIFIED archive of {}: {} checks",
            report.session.as_deref().unwrap_or(""),
            report.checks.len()
        );
    } else {
        crate::say!(
            "NOT VERIFIED: {failed} of {} checks failed",
            report.checks.len()
        );
    }
    Ok(report.verified)
}

/// What `piaojue seal` did.
#[derive(Debug)]
pub struct Sealed {
    pub votes: usize,
    pub marks: usize,
}

/// `piaojue seal DATA_DIR --archive OUT`: on a stopped appliance, once its archive verifies
/// and holds the store's whole chain, destroys the store's links between deputies and the
/// ballots of plain secret votes (each cast mark keeps that the deputy voted, loses the
/// ballot id's hash and the receipt), records the seal (audited; no vote opens after), and
/// rewrites the store so that sled's log no longer holds the old records or their order.
pub async fn seal(data: &Path, archive_path: &Path) -> Result<Sealed, String> {
    let key = Arc::new(crate::appliance::load_key(data).map_err(|e| e.to_string())?);
    let files = read(archive_path)?;
    let public = key.public();
    let report = tokio::task::block_in_place(|| archive::verify(&files, public));
    if !report.verified {
        let failed = report
            .checks
            .iter()
            .find(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .unwrap_or_default();
        return Err(format!(
            "the archive does not verify ({failed}); not sealed"
        ));
    }
    let manifest = archive::read_manifest(&files, public)?;
    let store = Store::open(data, &key.public_hex())
        .map_err(|e| format!("{e} (piaojue seal works on a stopped appliance's data directory)"))?;
    let r = |e: piaojue_core::refusal::Refusal| e.to_string();
    if store.meta().sealed_at.is_some() {
        return Err("the session is already sealed".into());
    }
    // The archive must be of this store as it is now: the same chain head, every vote.
    if manifest.chain.last() != store.last_bundle().map_err(r)?.as_ref() {
        return Err(
            "the archive's chain does not end at the store's last bundle: archive again".into(),
        );
    }
    let votes = store.votes().map_err(r)?;
    if votes.len() != manifest.votes.len()
        || votes.iter().any(|v| {
            !manifest
                .votes
                .iter()
                .any(|m| m.vote_id == v.id.as_str() && m.state == v.state.as_str())
        })
    {
        return Err(
            "the archive does not list the store's votes as they are now: archive again".into(),
        );
    }
    if let Some(v) = votes.iter().find(|v| v.state == VoteState::Open) {
        return Err(format!("{} is open: close it, archive, then seal", v.id));
    }
    let mut secret_plain = Vec::new();
    for v in &votes {
        let rules = store.rules(&v.rules_sha256).map_err(r)?;
        let secret = rules
            .and_then(|a| piaojue_core::rules::Rules::from_json(a.document.as_bytes()).ok())
            .is_none_or(|r| r.secret);
        if secret && v.mode == Mode::Plain {
            secret_plain.push(v.id.to_string());
        }
    }
    let archive_sha256 = crypto::sha256_hex(
        &std::fs::read(archive_path).map_err(|e| format!("{}: {e}", archive_path.display()))?,
    );
    let n_votes = secret_plain.len();
    let marks = store
        .write(move |tx| {
            let mut marks = 0;
            for vote in &secret_plain {
                for (deputy, mut mark) in tx.cast_marks(vote)? {
                    mark.ballot_id_sha256 = String::new();
                    mark.receipt = crate::store::Receipt {
                        body: String::new(),
                        signature: String::new(),
                        receipt_code: String::new(),
                    };
                    tx.put_cast_mark(vote, &deputy, &mark)?;
                    marks += 1;
                }
            }
            let mut meta = tx.meta_session()?;
            meta.sealed_at = Some(crate::session::now());
            tx.put_meta_session(&meta)?;
            tx.audit(
                crate::store::Actor::Operator,
                "seal",
                serde_json::json!({ "archive_sha256": archive_sha256, "votes": secret_plain, "cast_marks_cleared": marks }),
            );
            Ok(marks)
        })
        .await
        .map_err(r)?;
    drop(store);
    // sled's threads let go of the store's lock a moment after the last handle.
    tokio::task::block_in_place(|| crate::store::rewrite(data)).map_err(|e| e.to_string())?;
    Ok(Sealed {
        votes: n_votes,
        marks,
    })
}
