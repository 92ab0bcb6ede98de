//! The session archive (档案, docs/procedures.md): every result bundle in chain order, the
//! source bundles of 测评, and an appliance-signed manifest listing every vote — cancelled
//! and failed ones with their reasons — the roster's hash, attendance per vote, the audit
//! log's head and the keys. [`verify`] checks it end to end over its files (the CLI reads
//! the tar): the manifest's signature, every bundle, the chain without gaps, every link.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::{AuditHead, Check, PinnedScrutineer};
use crate::crypto::{self, Domain};
use crate::procedure::{self, Decided, Procedure};
use crate::rules::Roll;

pub const MANIFEST_FORMAT: &str = "piaojue-archive/1";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const REPORT_FILE: &str = "report.html";

/// The signed manifest as stored: its body's bytes (base64) and the appliance's signature
/// (domain `piaojue/v1/archive`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEnvelope {
    pub format: String,
    pub body: String,
    pub appliance_key: String,
    pub signature: String,
}

/// What the appliance vouches for about the whole session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub session: String,
    pub appliance_key: String,
    pub created_at: String,
    #[serde(default)]
    pub demo: bool,
    /// SHA-256 of the roster as `id,name,delegation,seat` lines, in id order.
    pub roster_sha256: String,
    pub roster_count: u64,
    pub audit_head: AuditHead,
    pub scrutineers: Vec<PinnedScrutineer>,
    /// Every vote, in id order.
    pub votes: Vec<VoteEntry>,
    /// The bundles' body hashes in chain order (each names the one before).
    pub chain: Vec<String>,
}

/// One vote as the archive lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteEntry {
    pub vote_id: String,
    pub title: String,
    /// draft, open, closed, announced, cancelled or failed.
    pub state: String,
    pub mode: String,
    /// Why it was cancelled or declared failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The file holding its bundle, and the bundle's body hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<FileRef>,
    /// The 测评's source bundle, as a file of the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_bundle: Option<FileRef>,
    /// 应到 / 实到 / enabled / cast, as frozen at its opening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendance: Option<Roll>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Procedure>,
    /// The re-vote or run-off that followed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followed_by: Option<String>,
    /// The chair's choice of a tie (`tie_rule: chair_decides`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chair_decision: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub file: String,
    pub sha256: String,
}

impl ManifestEnvelope {
    pub fn sign(
        manifest: &Manifest,
        key: &crypto::ApplianceKey,
    ) -> Result<Self, serde_json::Error> {
        let body = serde_json::to_string(manifest)?;
        Ok(ManifestEnvelope {
            format: MANIFEST_FORMAT.into(),
            signature: crypto::hex(&key.sign(Domain::Archive, body.as_bytes())),
            body: STANDARD.encode(body.as_bytes()),
            appliance_key: key.public_hex(),
        })
    }
}

/// The bundle file name of the `n`-th bundle of the chain (1-based).
pub fn bundle_file(n: usize, vote: &str) -> String {
    format!("bundles/{n:03}-{vote}.json")
}

/// A source bundle's file name.
pub fn source_file(sha256: &str) -> String {
    format!("sources/{sha256}.json")
}

struct Checks(Vec<Check>);

impl Checks {
    fn put(&mut self, name: impl Into<String>, r: Result<String, String>) -> bool {
        let (ok, detail) = match r {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.0.push(Check {
            name: name.into(),
            ok,
            detail,
        });
        ok
    }
}

/// What the archive verifier found, with the final list of each 票决 and its run-offs.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    pub verified: bool,
    pub session: Option<String>,
    pub checks: Vec<Check>,
    /// For each root 票决: its id, and the projects adopted by it and its run-offs, in order.
    pub final_lists: Vec<(String, Vec<String>)>,
}

/// Verifies an archive given as its files (name → bytes) under the pinned appliance key.
pub fn verify(files: &BTreeMap<String, Vec<u8>>, key: [u8; 32]) -> ArchiveReport {
    verify_with(files, key, None)
}

/// [`verify`], with the scrutineers' keys as printed on the agenda: every plain bundle must
/// name exactly these, so a scrutineer named later cannot co-sign (a manual count above all).
pub fn verify_with(
    files: &BTreeMap<String, Vec<u8>>,
    key: [u8; 32],
    scrutineers: Option<&[[u8; 32]]>,
) -> ArchiveReport {
    let mut c = Checks(Vec::new());
    let mut report = ArchiveReport {
        verified: false,
        session: None,
        checks: Vec::new(),
        final_lists: Vec::new(),
    };
    let manifest = match read_manifest(files, key) {
        Ok(m) => {
            c.put(
                "archive.manifest",
                Ok(format!(
                    "{MANIFEST_FORMAT} of {}, {} votes, {} bundles, signed by the pinned appliance key",
                    m.session,
                    m.votes.len(),
                    m.chain.len()
                )),
            );
            m
        }
        Err(e) => {
            c.put("archive.manifest", Err(e));
            report.checks = c.0;
            return report;
        }
    };
    report.session = Some(manifest.session.clone());
    // Every file listed, and nothing else.
    let mut listed: Vec<&str> = vec![MANIFEST_FILE, REPORT_FILE];
    for v in &manifest.votes {
        listed.extend(v.bundle.iter().map(|f| f.file.as_str()));
        listed.extend(v.source_bundle.iter().map(|f| f.file.as_str()));
    }
    let unlisted: Vec<&String> = files
        .keys()
        .filter(|f| !listed.contains(&f.as_str()))
        .collect();
    let missing: Vec<&&str> = listed.iter().filter(|f| !files.contains_key(**f)).collect();
    c.put(
        "archive.files",
        match (missing.first(), unlisted.first()) {
            (Some(m), _) => Err(format!("{m} is listed in the manifest but missing")),
            (_, Some(u)) => Err(format!("{u} is in the archive but not in the manifest")),
            _ => Ok(format!(
                "{} files, each listed in the manifest",
                files.len()
            )),
        },
    );
    // The votes: in id order, ids unique.
    let numbers: Vec<Option<u64>> = manifest
        .votes
        .iter()
        .map(|v| v.vote_id.strip_prefix('v').and_then(|n| n.parse().ok()))
        .collect();
    let misfiled = manifest.votes.iter().find(|v| {
        let needs = matches!(v.state.as_str(), "announced" | "failed")
            || (v.state == "closed" && v.mode == "plain");
        let forbids = matches!(v.state.as_str(), "draft" | "open" | "cancelled");
        (needs && v.bundle.is_none()) || (forbids && v.bundle.is_some())
    });
    c.put(
        "archive.votes",
        if numbers.iter().any(Option::is_none) {
            Err("a vote id is not v<n>".into())
        } else if numbers
            .iter()
            .enumerate()
            .any(|(i, n)| *n != Some(i as u64 + 1))
        {
            Err(
                "the votes are not v1, v2, … once each in order: a vote is missing or reordered"
                    .into(),
            )
        } else if let Some(v) = misfiled {
            Err(format!(
                "{} is {} {} a bundle",
                v.vote_id,
                v.state,
                if v.bundle.is_some() {
                    "but lists"
                } else {
                    "without"
                }
            ))
        } else {
            Ok(format!("{} votes in id order", manifest.votes.len()))
        },
    );
    // Each bundle: its file hashes as listed, it verifies under the pinned key with the
    // previous one, and the chain lists exactly these bundles in order.
    let mut decided: BTreeMap<String, Decided> = BTreeMap::new();
    let mut bundled: Vec<(&VoteEntry, &FileRef)> = manifest
        .votes
        .iter()
        .filter_map(|v| v.bundle.as_ref().map(|b| (v, b)))
        .collect();
    // Chain order, as the manifest's chain says (checked against the bundles below).
    bundled.sort_by_key(|(_, b)| {
        manifest
            .chain
            .iter()
            .position(|h| *h == b.sha256)
            .unwrap_or(usize::MAX)
    });
    let chain_listed: Vec<&String> = bundled.iter().map(|(_, b)| &b.sha256).collect();
    c.put(
        "archive.chain.listed",
        if chain_listed.len() == manifest.chain.len()
            && chain_listed
                .iter()
                .zip(&manifest.chain)
                .all(|(a, b)| *a == b)
        {
            Ok(format!("{} bundles in chain order", manifest.chain.len()))
        } else {
            Err("the chain does not list exactly the votes' bundles".into())
        },
    );
    let mut previous: Option<(&[u8], String)> = None;
    for (n, (v, fref)) in bundled.iter().enumerate() {
        let name = format!("bundle.{}", v.vote_id);
        let Some(bytes) = files.get(&fref.file) else {
            c.put(name, Err(format!("{} is missing", fref.file)));
            previous = None;
            continue;
        };
        let d = match Decided::read(bytes) {
            Ok(d) => d,
            Err(e) => {
                c.put(name, Err(format!("{}: {e}", fref.file)));
                previous = None;
                continue;
            }
        };
        if d.body_sha256 != fref.sha256 || d.vote_id != v.vote_id {
            c.put(
                name,
                Err(format!(
                    "{} holds vote {} with body {}, not the manifest's {} {}",
                    fref.file, d.vote_id, d.body_sha256, v.vote_id, fref.sha256
                )),
            );
            previous = None;
            continue;
        }
        let r =
            procedure::verify_pinned(bytes, key, previous.as_ref().map(|(b, _)| *b), scrutineers);
        // A manual count declared failed because the scrutineers would not co-sign it: its
        // bundle holds but for those co-signatures, and it is never announced.
        let rejected_manual = v.state == "failed"
            && d.procedure.as_ref().is_some_and(|p| p.manual.is_some())
            && r.holds_but_for_cosignatures();
        c.put(
            name,
            if rejected_manual {
                Ok(format!(
                    "{} verifies but for the co-signatures the scrutineers refused (declared failed)",
                    fref.file
                ))
            } else if r.verified {
                Ok(format!(
                    "{} verifies ({} checks){}",
                    fref.file,
                    r.checks.len(),
                    if n == 0 {
                        ""
                    } else {
                        ", follows the previous bundle"
                    }
                ))
            } else {
                Err(format!("{}: {}", fref.file, procedure::first_failure(&r)))
            },
        );
        // The first bundle of the session names none.
        if n == 0 && d.previous_bundle_sha256.is_some() {
            c.put(
                "archive.chain.first",
                Err(format!(
                    "{} names a previous bundle: a bundle before it is missing",
                    fref.file
                )),
            );
        }
        previous = Some((bytes.as_slice(), d.body_sha256.clone()));
        decided.insert(v.vote_id.clone(), d);
    }
    // The links.
    let by_id: BTreeMap<&str, &VoteEntry> = manifest
        .votes
        .iter()
        .map(|v| (v.vote_id.as_str(), v))
        .collect();
    for v in &manifest.votes {
        let d = decided.get(&v.vote_id);
        // The manifest's procedure is the bundle's.
        if let Some(d) = d
            && d.procedure != v.procedure
        {
            c.put(
                format!("link.{}", v.vote_id),
                Err("the manifest's procedure is not the bundle's".into()),
            );
            continue;
        }
        if matches!(v.state.as_str(), "cancelled" | "failed") {
            c.put(
                format!("vote.{}", v.vote_id),
                match v.reason.as_deref().filter(|r| !r.trim().is_empty()) {
                    None => Err(format!("{} is {} without its reason", v.vote_id, v.state)),
                    Some(r) if v.state == "failed" && v.bundle.is_none() => Err(format!(
                        "{} was declared failed ({r}) but its bundle is not in the archive",
                        v.vote_id
                    )),
                    Some(r) => Ok(format!("{}: {r}", state_zh(&v.state))),
                },
            );
        }
        let Some(p) = &v.procedure else { continue };
        if let Some(r) = &p.revote_of {
            let name = format!("link.{}.revote_of", v.vote_id);
            c.put(
                name,
                match by_id.get(r.vote.as_str()) {
                    None => Err(format!(
                        "{} names {}, which the archive does not list",
                        v.vote_id, r.vote
                    )),
                    Some(old)
                        if old.state != r.state
                            || old.reason.as_deref() != Some(r.reason.as_str()) =>
                    {
                        Err(format!(
                            "{} names {} as {} ({}), the manifest lists it as {} ({})",
                            v.vote_id,
                            r.vote,
                            r.state,
                            r.reason,
                            old.state,
                            old.reason.as_deref().unwrap_or("")
                        ))
                    }
                    Some(old) if old.followed_by.as_deref() != Some(v.vote_id.as_str()) => Err(
                        format!("{} is not listed as followed by {}", r.vote, v.vote_id),
                    ),
                    Some(_) => Ok(format!("repeats {} ({}: {})", r.vote, r.state, r.reason)),
                },
            );
        }
        if let Some(r) = &p.runoff_of {
            let name = format!("link.{}.runoff_of", v.vote_id);
            c.put(
                name,
                match (d, decided.get(&r.vote)) {
                    (Some(child), Some(parent)) => procedure::check_runoff(child, parent),
                    (None, _) if v.bundle.is_none() => Ok(format!(
                        "{} (no result yet) names {}'s bundle",
                        v.vote_id, r.vote
                    ))
                    .and_then(|ok| match decided.get(&r.vote) {
                        Some(parent) if parent.body_sha256 == r.bundle_sha256 => Ok(ok),
                        _ => Err(format!(
                            "{} names a bundle of {} the archive does not hold",
                            v.vote_id, r.vote
                        )),
                    }),
                    _ => Err(format!(
                        "the parent {}'s bundle is not in the archive",
                        r.vote
                    )),
                },
            );
        }
        if let Some(s) = &p.source {
            let name = format!("link.{}.source", v.vote_id);
            let source = v
                .source_bundle
                .as_ref()
                .filter(|f| f.sha256 == s.bundle_sha256)
                .and_then(|f| files.get(&f.file));
            c.put(
                name,
                match source {
                    None => Err(format!(
                        "the source bundle {} is not in the archive",
                        s.bundle_sha256.get(..16).unwrap_or(&s.bundle_sha256)
                    )),
                    Some(bytes) => source_check(bytes, s, d, v),
                },
            );
        }
    }
    // The chair's decisions.
    for v in &manifest.votes {
        let Some(chosen) = &v.chair_decision else {
            continue;
        };
        let name = format!("link.{}.chair_decision", v.vote_id);
        let tie = decided
            .get(&v.vote_id)
            .and_then(|d| d.outcome.get("tie").filter(|t| !t.is_null()).cloned());
        c.put(
            name,
            match tie {
                None => Err(format!("{} has no tie for the chair to decide", v.vote_id)),
                Some(t) => {
                    let tied: Vec<&str> = t["items"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let seats = t["seats"].as_u64().unwrap_or(0) as usize;
                    let mut uniq = chosen.clone();
                    uniq.sort();
                    uniq.dedup();
                    if chosen.len() == seats
                        && uniq.len() == chosen.len()
                        && chosen.iter().all(|x| tied.contains(&x.as_str()))
                    {
                        Ok(format!("the chair chose {} of the tied", chosen.join("、")))
                    } else {
                        Err(format!(
                            "the chair's choice {chosen:?} is not {seats} of the tied {tied:?}"
                        ))
                    }
                }
            },
        );
    }
    // The report is rebuilt from the verified files: byte for byte what the archive holds.
    let rebuilt = report_of(&manifest, &decided);
    c.put(
        "archive.report",
        match files.get(REPORT_FILE) {
            None => Err(format!("{REPORT_FILE} is missing")),
            Some(r) if r.as_slice() == rebuilt.as_bytes() => Ok(format!(
                "{REPORT_FILE} is the report the manifest and the bundles make"
            )),
            Some(_) => Err(format!(
                "{REPORT_FILE} is not the report the manifest and the bundles make"
            )),
        },
    );
    report.verified = c.0.iter().all(|x| x.ok);
    if report.verified {
        report.final_lists = final_lists(&manifest, &decided);
    }
    report.checks = c.0;
    report
}

fn source_check(
    bytes: &[u8],
    s: &procedure::Source,
    d: Option<&Decided>,
    v: &VoteEntry,
) -> Result<String, String> {
    let source = Decided::read(bytes)?;
    let key = crypto::public_key(&s.appliance_key).map_err(|e| e.to_string())?;
    let r = procedure::verify_any(bytes, key, None);
    if !r.verified {
        return Err(format!(
            "the source bundle does not verify: {}",
            procedure::first_failure(&r)
        ));
    }
    match d {
        Some(child) => procedure::check_source(child, &source),
        // A 测评 not decided yet: its items are still the source's adopted projects.
        None => procedure::source_items(&source).and_then(|items| {
            if source.body_sha256 == s.bundle_sha256 {
                Ok(format!(
                    "{} projects of {} ({}), not rated yet",
                    items.len(),
                    source.vote_id,
                    source.session
                ))
            } else {
                Err(format!("{}: the source's hash differs", v.vote_id))
            }
        }),
    }
}

/// Each announced root 票决 and what it and its announced run-offs (at any depth, including a
/// run-off's re-vote or manual count, which keeps its `runoff_of`) adopted, in vote order,
/// with the chair's decisions.
fn final_lists(
    manifest: &Manifest,
    decided: &BTreeMap<String, Decided>,
) -> Vec<(String, Vec<String>)> {
    let entry = |id: &str| manifest.votes.iter().find(|x| x.vote_id == id);
    let parent_of = |v: &VoteEntry| {
        v.procedure
            .as_ref()
            .and_then(|p| p.runoff_of.as_ref())
            .map(|r| r.vote.clone())
    };
    // The root a run-off descends from (bounded: the manifest is finite, links may loop).
    let root_of = |v: &VoteEntry| -> Option<String> {
        let mut at = parent_of(v)?;
        for _ in 0..manifest.votes.len() {
            match entry(&at).and_then(parent_of) {
                Some(p) => at = p,
                None => return Some(at),
            }
        }
        None
    };
    let announced = |v: &VoteEntry| v.state == "announced" && decided.contains_key(&v.vote_id);
    let mut lists = Vec::new();
    for root in &manifest.votes {
        if parent_of(root).is_some() || !announced(root) {
            continue;
        }
        let Some(d) = decided.get(&root.vote_id) else {
            continue;
        };
        if d.outcome.get("selected").is_none() {
            continue;
        }
        let mut list = d.selected();
        list.extend(root.chair_decision.iter().flatten().cloned());
        for v in &manifest.votes {
            if announced(v) && root_of(v).as_deref() == Some(root.vote_id.as_str()) {
                list.extend(decided[&v.vote_id].selected());
                list.extend(v.chair_decision.iter().flatten().cloned());
            }
        }
        lists.push((root.vote_id.clone(), list));
    }
    lists
}

/// The manifest, after its signature is checked under the pinned key.
pub fn read_manifest(files: &BTreeMap<String, Vec<u8>>, key: [u8; 32]) -> Result<Manifest, String> {
    let bytes = files
        .get(MANIFEST_FILE)
        .ok_or_else(|| format!("{MANIFEST_FILE} is missing"))?;
    let env: ManifestEnvelope = serde_json::from_slice(bytes)
        .map_err(|e| format!("{MANIFEST_FILE}: not a manifest envelope: {e}"))?;
    if env.format != MANIFEST_FORMAT {
        return Err(format!("{MANIFEST_FILE}: format is not {MANIFEST_FORMAT}"));
    }
    if env.appliance_key != crypto::hex(&key) {
        return Err(format!(
            "{MANIFEST_FILE}: signed by {}, not the pinned key",
            env.appliance_key
        ));
    }
    let body = STANDARD
        .decode(env.body.as_bytes())
        .map_err(|e| format!("{MANIFEST_FILE}: body is not base64: {e}"))?;
    let sig = crypto::unhex::<64>(&env.signature)
        .ok_or_else(|| format!("{MANIFEST_FILE}: the signature is not 128 hex digits"))?;
    crypto::verify(&key, Domain::Archive, &body, &sig)
        .map_err(|_| format!("{MANIFEST_FILE}: the appliance's signature does not verify"))?;
    let m: Manifest =
        serde_json::from_slice(&body).map_err(|e| format!("{MANIFEST_FILE}: the body: {e}"))?;
    if m.format != MANIFEST_FORMAT || m.appliance_key != env.appliance_key {
        return Err(format!(
            "{MANIFEST_FILE}: the body's format or key differs from its envelope"
        ));
    }
    Ok(m)
}

/// The printable session report (会议表决情况报告): every vote in order with its state and
/// announcement, the links, the final lists; HTML for the browser's print, styled by
/// [`REPORT_STYLE`] (its hash goes in the serving page's CSP).
pub fn report_html(
    manifest: &Manifest,
    announcements: &BTreeMap<String, String>,
    final_lists: &[(String, Vec<String>)],
) -> String {
    let e = html_escape;
    let mut h = String::new();
    h.push_str("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!(
        "<title>{}表决情况报告</title><style>{REPORT_STYLE}</style></head><body>",
        e(&manifest.session)
    ));
    h.push_str(&format!(
        "<h1>{}</h1><h2>表决情况报告</h2><p class=\"meta\">应到代表{}名 · 设备公钥指纹 {} · 审计日志第{}条 {}… · 生成于 {}{}</p>",
        e(&manifest.session),
        manifest.roster_count,
        crypto::fingerprint_grouped(&crypto::sha256_hex(
            &crypto::unhex::<32>(&manifest.appliance_key).unwrap_or([0; 32])
        )),
        manifest.audit_head.seq,
        e(manifest.audit_head.hash.get(..16).unwrap_or("")),
        e(&manifest.created_at),
        if manifest.demo { " · 演示" } else { "" }
    ));
    if !manifest.scrutineers.is_empty() {
        let names: Vec<String> = manifest.scrutineers.iter().map(|s| e(&s.name)).collect();
        h.push_str(&format!(
            "<p class=\"meta\">监票人：{}</p>",
            names.join("、")
        ));
    }
    for v in &manifest.votes {
        h.push_str(&format!(
            "<section><h3>{} {}</h3><p class=\"state\">{}{}</p>",
            e(&v.vote_id),
            e(&v.title),
            state_zh(&v.state),
            if v.mode == "encrypted" {
                " · 加密投票"
            } else {
                ""
            }
        ));
        if let Some(p) = &v.procedure {
            for line in procedure_lines(p) {
                h.push_str(&format!("<p class=\"link\">{}</p>", e(&line)));
            }
        }
        if let Some(r) = &v.reason {
            h.push_str(&format!("<p class=\"reason\">原因：{}</p>", e(r)));
        }
        if let Some(a) = announcements.get(&v.vote_id) {
            h.push_str(&format!("<pre>{}</pre>", e(a)));
        }
        if let Some(c) = &v.chair_decision {
            h.push_str(&format!(
                "<p class=\"link\">会议主持人依照票决办法确定：{}</p>",
                e(&c.join("、"))
            ));
        }
        if let Some(b) = &v.bundle {
            h.push_str(&format!(
                "<p class=\"hash\">结果包 SHA-256：{}</p>",
                e(&b.sha256)
            ));
        }
        h.push_str("</section>");
    }
    for (root, list) in final_lists {
        h.push_str(&format!(
            "<section class=\"final\"><h3>{} 票决最终确定的项目（{}个）</h3><p>{}</p></section>",
            e(root),
            list.len(),
            e(&list.join("、"))
        ));
    }
    h.push_str("</body></html>\n");
    h
}

/// The report's only style (the CSP allows exactly this text by its hash).
pub const REPORT_STYLE: &str = "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",sans-serif;max-width:52em;margin:2em auto;color:#111}h1{text-align:center;font-size:1.6em}h2{text-align:center;font-size:1.3em;margin-top:0}section{border-top:1px solid #999;padding:.4em 0;break-inside:avoid}h3{margin:.3em 0}.meta,.hash{color:#444;font-size:.85em;word-break:break-all}.state{font-weight:bold}.link{color:#7a1f1f}.reason{color:#7a1f1f}pre{white-space:pre-wrap;font-family:inherit;background:#f6f6f6;padding:.5em}.final{border:2px solid #7a1f1f;padding:.5em}";

fn state_zh(s: &str) -> &'static str {
    match s {
        "draft" => "未开始",
        "open" => "表决中",
        "closed" => "已结束（未宣布）",
        "announced" => "已宣布",
        "cancelled" => "已取消",
        "failed" => "宣告失败",
        _ => "未知状态",
    }
}

/// A procedure in the report's words.
pub fn procedure_lines(p: &Procedure) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(r) = &p.revote_of {
        lines.push(format!(
            "重新表决：{}（{}，原因：{}）",
            r.vote,
            state_zh(&r.state),
            r.reason
        ));
    }
    if let Some(r) = &p.runoff_of {
        lines.push(format!(
            "{}：{} 的 {} 个候选项目，{} 个名额",
            r.reason.name_zh(),
            r.vote,
            r.candidates.len(),
            r.seats
        ));
    }
    if let Some(s) = &p.source {
        lines.push(format!(
            "满意度测评，项目来自票决结果 {}…（签名公钥 {}…）",
            s.bundle_sha256.get(..16).unwrap_or(""),
            s.appliance_key.get(..16).unwrap_or("")
        ));
    }
    if let Some(m) = &p.manual {
        lines.push(format!(
            "{}，计票人：{}（{}）",
            m.method.heading_zh(),
            m.counted_by.join("、"),
            m.note
        ));
    }
    lines
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report built from the archive's own files (what `piaojue archive` writes).
pub fn report_from(files: &BTreeMap<String, Vec<u8>>, manifest: &Manifest) -> String {
    let decided: BTreeMap<String, Decided> = manifest
        .votes
        .iter()
        .filter_map(|v| {
            let bytes = files.get(&v.bundle.as_ref()?.file)?;
            Some((v.vote_id.clone(), Decided::read(bytes).ok()?))
        })
        .collect();
    report_of(manifest, &decided)
}

/// The report of the manifest's votes with their results as read.
fn report_of(manifest: &Manifest, decided: &BTreeMap<String, Decided>) -> String {
    let announcements = decided
        .iter()
        .map(|(id, d)| (id.clone(), d.announcement.clone()))
        .collect();
    report_html(manifest, &announcements, &final_lists(manifest, decided))
}
