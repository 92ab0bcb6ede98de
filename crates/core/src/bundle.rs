//! The signed result bundle (`piaojue-bundle/1`) and its verifier.
//!
//! Owns: the envelope and body formats of docs/bundle.md, and every check an observer runs.
//! Invariants: the body is signed as bytes (`piaojue/v1/result` ‖ 0 ‖ body), never re-serialised;
//! the verifier recomputes everything from the ballots and the rules with the same pure code the
//! appliance used, and reports *every* failed check, never panicking on hostile input. This
//! module depends on `rules`, `ballot` and `crypto` only, so it can move into a verifier crate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ballot;
use crate::crypto::{self, Domain};
use crate::rules::{self, Counts, Kind, Roll, Rules};

pub const ENVELOPE_FORMAT: &str = "piaojue-bundle/1";
pub const BODY_FORMAT: &str = "piaojue-result/1";
/// Cap on a bundle read by the verifier: 3,000 ballots of 500 items fit many times over.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024 * 1024;

/// Who made a signature in the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Appliance,
    Scrutineer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Appliance => "appliance",
            Role::Scrutineer => "scrutineer",
        }
    }

    /// The role an envelope names; `None` for one this verifier does not know (reported
    /// as such, rather than failing the whole envelope).
    pub fn parse(text: &str) -> Option<Role> {
        [Role::Appliance, Role::Scrutineer]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// A signature in the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    /// A [`Role`], as text.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub public_key: String,
    pub signature: String,
}

/// What is published: the body's bytes (base64) and the signatures over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub format: String,
    pub body: String,
    pub signatures: Vec<SignatureEntry>,
}

impl Envelope {
    pub fn new(body: &str, signatures: Vec<SignatureEntry>) -> Envelope {
        Envelope {
            format: ENVELOPE_FORMAT.into(),
            body: STANDARD.encode(body.as_bytes()),
            signatures,
        }
    }

    /// The published JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// A deputy's choices in a named (记名) vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedChoice {
    pub deputy: String,
    pub name: String,
    pub choices: Vec<u8>,
    /// The deputy's 代表团, as the roster lists it (absent in bundles made before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<String>,
}

/// A named vote's counts for one 代表团: how its deputies chose, per item and option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationCounts {
    pub delegation: String,
    /// Its deputies who cast.
    pub deputies: u64,
    /// `counts[i][j]`: its deputies choosing option `j` on item `i`.
    pub counts: Vec<Vec<u64>>,
}

/// The per-delegation breakdown of named choices, delegations in name order: what the hall
/// screen and the 公告 show, and what the verifier recomputes. `None` when a choice has no
/// delegation (a bundle made before delegations were recorded).
pub fn by_delegation(
    named: &[NamedChoice],
    options: usize,
    items: usize,
) -> Option<Vec<DelegationCounts>> {
    let mut groups: std::collections::BTreeMap<&str, DelegationCounts> = Default::default();
    for n in named {
        let d = n.delegation.as_deref()?;
        let g = groups.entry(d).or_insert_with(|| DelegationCounts {
            delegation: d.to_string(),
            deputies: 0,
            counts: vec![vec![0; options]; items],
        });
        g.deputies += 1;
        for (i, &c) in n.choices.iter().enumerate() {
            if let Some(cell) = g
                .counts
                .get_mut(i)
                .and_then(|row| row.get_mut(usize::from(c)))
            {
                *cell += 1;
            }
        }
    }
    Some(groups.into_values().collect())
}

/// A named vote's choices as words (「赞成」), one per item; an index outside the options
/// (which the cast checks never store) reads as empty.
pub fn choice_words(options: &[String], choices: &[u8]) -> Vec<String> {
    choices
        .iter()
        .map(|&c| options.get(usize::from(c)).cloned().unwrap_or_default())
        .collect()
}

/// The head of the appliance's audit chain when the vote closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// The body of a result: everything an observer needs to recount and re-decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultBody {
    pub format: String,
    pub session: String,
    pub appliance_key: String,
    pub vote_id: String,
    pub title: String,
    pub kind: Kind,
    pub items: Vec<String>,
    pub secret: bool,
    pub rules_sha256: String,
    /// The adopted rules document, exactly as hashed.
    pub rules_document: String,
    /// SHA-256 of the signed ballot definition every tablet was shown.
    pub ballot_sha256: String,
    pub opened_at: String,
    pub closed_at: String,
    /// 应到, 实到 and enabled when it opened; `cast` ballots.
    pub roll: Roll,
    /// Every receipt code, sorted.
    pub receipts: Vec<String>,
    /// Every ballot (choices per item), sorted: the order reveals nothing.
    pub ballots: Vec<Vec<u8>>,
    /// Named votes only: who chose what, by deputy id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named: Option<Vec<NamedChoice>>,
    /// Named votes only: the counts per 代表团 (recomputed by the verifier from `named`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_delegation: Option<Vec<DelegationCounts>>,
    /// `counts[i][j]`: ballots choosing option `j` on item `i`.
    pub counts: Vec<Vec<u64>>,
    /// The rules engine's outcome, as `piaojue tally` prints it.
    pub outcome: Value,
    pub announcement: String,
    pub audit_head: AuditHead,
    /// SHA-256 of the body of the session's previous result, if any.
    pub previous_bundle_sha256: Option<String>,
    pub cosignatures_required: u32,
    /// The scrutineers in force when the vote opened (none is added or removed while a vote
    /// is open): only co-signatures by these keys count, and any other fails the bundle.
    /// Absent from bundles made before keys were pinned; those cannot meet a co-signature
    /// requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrutineers: Option<Vec<PinnedScrutineer>>,
    /// The secretariat's interventions on the deputies enabled in this vote, up to its close:
    /// manual check-ins (补签到) and tablet reissues, each with its reason and, where given,
    /// a scrutineer's co-signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interventions: Option<Vec<Intervention>>,
    /// Whether the session is a demonstration (`serve --demo`), decided when it was created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// Re-vote, run-off, 测评 source or manual count (docs/procedures.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<crate::procedure::Procedure>,
}

/// What the secretariat did for a deputy by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterventionKind {
    /// 补签到: the secretariat checked the deputy in.
    ManualCheckin,
    /// A broken or lost tablet: its token revoked, a new code issued.
    Reissue,
}

/// One intervention as the bundle lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervention {
    pub kind: InterventionKind,
    pub deputy: String,
    /// The deputy's n-th intervention (what a co-signature names, so it cannot be replayed).
    pub seq: u32,
    pub time: String,
    pub reason: String,
    /// Who did it (`operator`).
    pub actor: String,
    /// A scrutineer's co-signature of [`intervention_message`], if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosignature: Option<InterventionCosignature>,
}

/// A scrutineer's co-signature of an intervention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterventionCosignature {
    pub scrutineer: String,
    pub public_key: String,
    pub signature: String,
}

/// The exact bytes a scrutineer co-signs (domain `piaojue/v1/intervention`) for an
/// intervention: the appliance, what, for whom, why, and which of the deputy's interventions.
pub fn intervention_message(
    appliance_key: &str,
    kind: InterventionKind,
    deputy: &str,
    reason: &str,
    seq: u32,
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&serde_json::json!({
        "format": "piaojue-intervention/1",
        "appliance_key": appliance_key,
        "kind": kind,
        "deputy": deputy,
        "reason": reason,
        "seq": seq,
    }))
}

/// Checks an intervention's co-signature under the scrutinee's key (hex).
pub fn check_intervention(
    appliance_key: &str,
    i: &Intervention,
    public_key: &str,
    signature: &str,
) -> Result<(), String> {
    let key = crypto::public_key(public_key).map_err(|e| e.to_string())?;
    let sig = crypto::unhex::<64>(signature).ok_or("a signature must be 128 hex digits")?;
    let message = intervention_message(appliance_key, i.kind, &i.deputy, &i.reason, i.seq)
        .map_err(|e| e.to_string())?;
    crypto::verify(&key, Domain::Intervention, message.as_bytes(), &sig)
        .map_err(|_| "the co-signature does not verify".to_string())
}

/// A scrutineer as the appliance signs them into a vote: their id, name and own key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedScrutineer {
    pub id: String,
    pub name: String,
    /// Hex Ed25519 public key, made on the scrutineer's own device.
    pub public_key: String,
}

impl ResultBody {
    /// The exact bytes the appliance signs and the envelope carries.
    pub fn to_bytes(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// What the appliance knows of a vote when it closes: the facts a result is made of.
#[derive(Debug)]
pub struct Facts<'a> {
    pub session: &'a str,
    pub appliance_key: &'a str,
    pub vote_id: &'a str,
    pub title: &'a str,
    pub items: &'a [String],
    pub rules: &'a Rules,
    pub rules_sha256: &'a str,
    /// The adopted document's exact text.
    pub rules_document: &'a str,
    /// The signed ballot definition's body.
    pub ballot_body: &'a str,
    pub opened_at: &'a str,
    pub closed_at: &'a str,
    pub roll: Roll,
    /// Receipt codes, sorted.
    pub receipts: Vec<String>,
    /// Stored ballots in any order (they are sorted here).
    pub ballots: Vec<Vec<u8>>,
    /// Named votes: (deputy id, name, choices).
    pub named: Option<Vec<NamedChoice>>,
    pub audit_head: AuditHead,
    pub previous_bundle_sha256: Option<String>,
    /// The scrutineers signed into the vote when it opened.
    pub scrutineers: Vec<PinnedScrutineer>,
    /// Manual check-ins and reissues of the deputies enabled in the vote.
    pub interventions: Vec<Intervention>,
    /// A demonstration session.
    pub demo: bool,
    /// How the vote came about; a manual count's counts are `manual_counts`.
    pub procedure: Option<crate::procedure::Procedure>,
    /// A manual count: counts per item and option as the counters reported them.
    pub manual_counts: Option<Vec<Vec<u64>>>,
}

/// A vote's closing: the counts from the ballots, the outcome under the rules, and the
/// result body that records all of it.
#[derive(Debug)]
pub struct Closing {
    pub counts: Counts,
    pub outcome: rules::Outcome,
    pub body: ResultBody,
}

/// Errors making a result: stored ballots that break the rules (the store is damaged), or
/// an encoding failure.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the stored ballots do not fit the rules: {0}")]
    Counts(String),
    #[error("the result cannot be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Counts the ballots, decides under the rules and builds the result body.
pub fn close(facts: Facts<'_>) -> Result<Closing, BuildError> {
    let rules = &crate::procedure::effective_rules(facts.procedure.as_ref(), facts.rules)
        .map_err(BuildError::Counts)?;
    let mut ballots = facts.ballots;
    // Sorted: the published order says nothing about who cast when.
    ballots.sort();
    let counted = match facts.manual_counts {
        Some(c) => c,
        None => ballot::count(rules.options.len(), facts.items.len(), &ballots),
    };
    let counts = Counts::new(rules, facts.items.to_vec(), facts.roll, counted)
        .map_err(|e| BuildError::Counts(e.to_string()))?;
    let warnings = rules.check_items(facts.items.len()).unwrap_or_default();
    let outcome = rules::decide(rules, &counts, warnings);
    let body = ResultBody {
        format: BODY_FORMAT.into(),
        session: facts.session.into(),
        appliance_key: facts.appliance_key.into(),
        vote_id: facts.vote_id.into(),
        title: facts.title.into(),
        kind: rules.kind,
        items: facts.items.to_vec(),
        secret: rules.secret,
        rules_sha256: facts.rules_sha256.into(),
        rules_document: facts.rules_document.into(),
        ballot_sha256: crypto::sha256_hex(facts.ballot_body.as_bytes()),
        opened_at: facts.opened_at.into(),
        closed_at: facts.closed_at.into(),
        roll: facts.roll,
        receipts: facts.receipts,
        ballots,
        by_delegation: facts
            .named
            .as_deref()
            .and_then(|n| by_delegation(n, rules.options.len(), facts.items.len())),
        named: facts.named,
        counts: counts.rows().to_vec(),
        outcome: serde_json::to_value(&outcome)?,
        announcement: outcome.announcement.clone(),
        audit_head: facts.audit_head,
        previous_bundle_sha256: facts.previous_bundle_sha256,
        cosignatures_required: facts
            .procedure
            .as_ref()
            .map_or(rules.cosignatures_required, |p| {
                p.cosignatures_required(rules)
            }),
        scrutineers: Some(facts.scrutineers),
        interventions: Some(facts.interventions),
        demo: facts.demo,
        procedure: facts.procedure.filter(|p| !p.is_empty()),
    };
    Ok(Closing {
        counts,
        outcome,
        body,
    })
}

/// A vote's signed result as the appliance keeps it: the body's exact bytes, the
/// appliance's signature and the scrutineers' co-signatures gathered since.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedBundle {
    pub body: String,
    pub sha256: String,
    pub appliance_signature: String,
    pub cosignatures: Vec<SignatureEntry>,
}

impl SignedBundle {
    /// Signs a result body with the appliance key.
    pub fn sign(body: &ResultBody, key: &crypto::ApplianceKey) -> Result<SignedBundle, BuildError> {
        let body = body.to_bytes()?;
        Ok(SignedBundle {
            sha256: crypto::sha256_hex(body.as_bytes()),
            appliance_signature: crypto::hex(&key.sign(Domain::Result, body.as_bytes())),
            body,
            cosignatures: Vec::new(),
        })
    }

    /// Adds a scrutineer's co-signature after checking it against their key (hex); a second
    /// co-signature by the same key changes nothing. Returns whether it was added.
    pub fn cosign(
        &mut self,
        name: &str,
        public_key: &str,
        signature: &str,
    ) -> Result<bool, crate::refusal::Refusal> {
        use crate::refusal::Refusal;
        let key = crypto::public_key(public_key)
            .map_err(|e| Refusal::internal("内部错误", format!("a stored scrutineer key: {e}")))?;
        let sig = crypto::unhex::<64>(signature).ok_or(Refusal::CosignatureFormat)?;
        crypto::verify(&key, Domain::Result, self.body.as_bytes(), &sig)
            .map_err(|_| Refusal::CosignatureInvalid)?;
        if self.cosignatures.iter().any(|c| c.public_key == public_key) {
            return Ok(false);
        }
        self.cosignatures.push(SignatureEntry {
            role: Role::Scrutineer.as_str().into(),
            name: Some(name.into()),
            public_key: public_key.into(),
            signature: signature.to_ascii_lowercase(),
        });
        Ok(true)
    }

    /// The published envelope: the appliance's signature first, then each co-signature.
    pub fn envelope(&self, appliance_key: &str) -> Envelope {
        let mut signatures = vec![SignatureEntry {
            role: Role::Appliance.as_str().into(),
            name: None,
            public_key: appliance_key.into(),
            signature: self.appliance_signature.clone(),
        }];
        signatures.extend(self.cosignatures.iter().cloned());
        Envelope::new(&self.body, signatures)
    }
}

/// The name of the check a scrutineer's co-signature supplies.
pub const CHECK_COSIGNATURES: &str = "cosignatures.required";

impl Report {
    /// Whether every check holds except, possibly, the co-signatures still to come: what a
    /// scrutineer needs before adding theirs.
    pub fn holds_but_for_cosignatures(&self) -> bool {
        self.checks
            .iter()
            .all(|c| c.ok || c.name == CHECK_COSIGNATURES)
    }
}

/// One check of the verifier: its stable name, whether it held, and where it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Everything the verifier found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verified: bool,
    pub vote_id: Option<String>,
    pub title: Option<String>,
    pub bundle_sha256: Option<String>,
    pub announcement: Option<String>,
    pub checks: Vec<Check>,
}

/// What the verifier is told besides the bundle.
#[derive(Debug, Clone, Default)]
pub struct Expect<'a> {
    /// The appliance key the observer pinned (from the printed agenda or the session page).
    pub key: Option<[u8; 32]>,
    /// Or its fingerprint (SHA-256 of the key) as printed on the 公告, cards and screen.
    pub fingerprint: Option<[u8; 32]>,
    /// The previous bundle's bytes, to check the chain.
    pub previous: Option<&'a [u8]>,
    /// A deputy's receipt code that must be listed.
    pub receipt: Option<&'a str>,
    /// The scrutineers' keys as printed on the agenda: the body must name exactly these.
    pub scrutineers: Option<&'a [[u8; 32]]>,
}

struct Checks(Vec<Check>);

impl Checks {
    fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
        });
    }
    fn fail(&mut self, name: &str, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.into(),
            ok: false,
            detail: detail.into(),
        });
    }
    fn check(&mut self, name: &str, result: Result<String, String>) -> bool {
        match result {
            Ok(d) => {
                self.pass(name, d);
                true
            }
            Err(d) => {
                self.fail(name, d);
                false
            }
        }
    }
}

/// Decodes an envelope's body bytes, or says why not.
pub fn parse(bytes: &[u8]) -> Result<(Envelope, Vec<u8>), String> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(format!(
            "the bundle is {} bytes; at most {} MiB is read",
            bytes.len(),
            MAX_BUNDLE_BYTES >> 20
        ));
    }
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|e| format!("not a bundle envelope: {e}"))?;
    if envelope.format != ENVELOPE_FORMAT {
        return Err(format!(
            "format `{}` is not `{ENVELOPE_FORMAT}`",
            envelope.format
        ));
    }
    let body = STANDARD
        .decode(envelope.body.as_bytes())
        .map_err(|e| format!("body is not standard padded base64: {e}"))?;
    Ok((envelope, body))
}

/// SHA-256 (hex) of a bundle's body: what the chain and the hall screen's QR code name.
/// Plain (v1) and encrypted (`piaojue-bundle/2`) results share one chain.
pub fn body_sha256(bytes: &[u8]) -> Option<String> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return None;
    }
    let envelope: Envelope = serde_json::from_slice(bytes).ok()?;
    if envelope.format != ENVELOPE_FORMAT && envelope.format != crate::e2e::bundle::ENVELOPE_FORMAT
    {
        return None;
    }
    let body = STANDARD.decode(envelope.body.as_bytes()).ok()?;
    Some(crypto::sha256_hex(&body))
}

/// Verifies a bundle: every check, each with where it failed.
pub fn verify(bytes: &[u8], expect: &Expect) -> Report {
    let mut c = Checks(Vec::new());
    let mut report = Report {
        verified: false,
        vote_id: None,
        title: None,
        bundle_sha256: None,
        announcement: None,
        checks: Vec::new(),
    };
    let (envelope, body_bytes) = match parse(bytes) {
        Ok(x) => x,
        Err(e) => {
            c.fail("envelope", e);
            report.checks = c.0;
            return report;
        }
    };
    c.pass(
        "envelope",
        format!(
            "{ENVELOPE_FORMAT}, {} signatures",
            envelope.signatures.len()
        ),
    );
    report.bundle_sha256 = Some(crypto::sha256_hex(&body_bytes));
    let body: ResultBody = match serde_json::from_slice(&body_bytes) {
        Ok(b) => b,
        Err(e) => {
            c.fail("body", format!("the signed body is not a result: {e}"));
            check_signatures(&mut c, &envelope, &body_bytes, None, expect);
            report.checks = c.0;
            return report;
        }
    };
    if body.format == BODY_FORMAT {
        c.pass("body", format!("{BODY_FORMAT}, vote {}", body.vote_id));
    } else {
        c.fail(
            "body",
            format!("format `{}` is not `{BODY_FORMAT}`", body.format),
        );
    }
    report.vote_id = Some(body.vote_id.clone());
    report.title = Some(body.title.clone());
    report.announcement = Some(body.announcement.clone());
    check_signatures(&mut c, &envelope, &body_bytes, Some(&body), expect);
    check_content(&mut c, &body);
    if let Some(previous) = expect.previous {
        let got = body_sha256(previous);
        let want = body.previous_bundle_sha256.clone();
        match (got, want) {
            (Some(g), Some(w)) if g == w => c.pass("chain.previous", format!("follows {g}")),
            (Some(g), w) => c.fail(
                "chain.previous",
                format!(
                    "the previous bundle's body hashes to {g}, but this bundle names {}",
                    w.unwrap_or_else(|| "no previous bundle".into())
                ),
            ),
            (None, _) => c.fail("chain.previous", "the previous bundle cannot be read"),
        }
    }
    if let Some(code) = expect.receipt {
        let code = code.trim().to_ascii_uppercase();
        if body.receipts.binary_search(&code).is_ok() || body.receipts.contains(&code) {
            c.pass("receipt", format!("{code} is listed"));
        } else {
            c.fail(
                "receipt",
                format!("{code} is not among the {} receipts", body.receipts.len()),
            );
        }
    }
    report.verified = c.0.iter().all(|x| x.ok);
    report.checks = c.0;
    report
}

fn check_signatures(
    c: &mut Checks,
    envelope: &Envelope,
    body: &[u8],
    parsed: Option<&ResultBody>,
    expect: &Expect,
) {
    let appliance: Vec<&SignatureEntry> = envelope
        .signatures
        .iter()
        .filter(|s| Role::parse(&s.role) == Some(Role::Appliance))
        .collect();
    let verify_one = |s: &SignatureEntry| -> Result<[u8; 32], String> {
        let key = crypto::public_key(&s.public_key).map_err(|e| e.to_string())?;
        let sig = crypto::unhex::<64>(&s.signature)
            .ok_or_else(|| crypto::CryptoError::SignatureFormat.to_string())?;
        crypto::verify(&key, Domain::Result, body, &sig).map_err(|e| e.to_string())?;
        Ok(key)
    };
    match appliance.as_slice() {
        [one] => {
            match verify_one(one) {
                Ok(key) => {
                    c.pass(
                        "signature.appliance",
                        format!("valid, key {}", one.public_key),
                    );
                    match (expect.key, expect.fingerprint) {
                        (_, Some(fp)) if crypto::sha256(&key) == fp => c.pass(
                            "key.pinned",
                            format!(
                                "the appliance key's fingerprint is the one pinned ({})",
                                crypto::fingerprint_grouped(&crypto::hex(&fp))
                            ),
                        ),
                        (None, Some(fp)) => c.fail(
                            "key.pinned",
                            format!(
                                "signed by a key whose fingerprint is {}, not the pinned {}",
                                crypto::fingerprint_grouped(&crypto::fingerprint(&key)),
                                crypto::fingerprint_grouped(&crypto::hex(&fp))
                            ),
                        ),
                        (Some(pinned), _) if pinned == key => c.pass(
                            "key.pinned",
                            "the appliance key is the one pinned".to_string(),
                        ),
                        (Some(pinned), _) => c.fail(
                            "key.pinned",
                            format!(
                                "signed by {} but the pinned key is {}",
                                one.public_key,
                                crypto::hex(&pinned)
                            ),
                        ),
                        (None, None) => c.fail(
                            "key.pinned",
                            "no appliance key was pinned (--key or --fingerprint)",
                        ),
                    }
                }
                Err(e) => c.fail("signature.appliance", e),
            }
            if let Some(body) = parsed
                && body.appliance_key != one.public_key
            {
                c.fail(
                    "signature.appliance",
                    format!(
                        "the body names key {} but the signature is by {}",
                        body.appliance_key, one.public_key
                    ),
                );
            }
        }
        [] => c.fail("signature.appliance", "no appliance signature"),
        many => c.fail(
            "signature.appliance",
            format!(
                "{} appliance signatures; exactly one is allowed",
                many.len()
            ),
        ),
    }
    // The keys the appliance signed into the vote; a co-signature by any other fails.
    let pinned: Option<Vec<String>> = parsed.and_then(|b| {
        b.scrutineers.as_ref().map(|list| {
            list.iter()
                .map(|s| s.public_key.to_ascii_lowercase())
                .collect()
        })
    });
    let mut valid_scrutineers: Vec<[u8; 32]> = Vec::new();
    for (i, s) in envelope.signatures.iter().enumerate() {
        let name = format!("signature.scrutineer[{i}]");
        match Role::parse(&s.role) {
            Some(Role::Appliance) => {}
            Some(Role::Scrutineer) => {
                let who = s.name.clone().unwrap_or_else(|| "unnamed".into());
                let in_set = match &pinned {
                    Some(keys) => keys.contains(&s.public_key.to_ascii_lowercase()),
                    None => false,
                };
                match verify_one(s) {
                    Ok(_) if parsed.is_some() && !in_set => c.fail(
                        &name,
                        if pinned.is_some() {
                            format!(
                                "{who}: key {} is not one of the scrutineers the appliance signed into this vote",
                                s.public_key
                            )
                        } else {
                            format!(
                                "{who}: the body names no scrutineers (a bundle from before keys were pinned), so this co-signature is bound to no key the appliance signed"
                            )
                        },
                    ),
                    Ok(key) if valid_scrutineers.contains(&key) => {
                        c.fail(&name, format!("{who}: the same key signed twice"))
                    }
                    Ok(key) => {
                        valid_scrutineers.push(key);
                        c.pass(&name, format!("{who}: valid, key {}", s.public_key));
                    }
                    Err(e) => c.fail(&name, format!("{who}: {e}")),
                }
            }
            None => c.fail(
                &format!("signature[{i}]"),
                format!("unknown role `{}`", s.role),
            ),
        }
    }
    if let Some(body) = parsed {
        let have = valid_scrutineers.len() as u32;
        let need = body.cosignatures_required;
        c.check(
            CHECK_COSIGNATURES,
            if body.scrutineers.is_none() && need > 0 {
                Err(format!(
                    "the rules require {need} co-signatures, but this bundle names no scrutineers (it predates pinned scrutineer keys), so no co-signature can count"
                ))
            } else if have >= need {
                Ok(format!(
                    "{have} valid co-signatures by the scrutineers signed into the vote, {need} required"
                ))
            } else {
                Err(format!(
                    "{have} valid co-signatures by the scrutineers signed into the vote, but the rules require {need}"
                ))
            },
        );
        check_scrutineers(c, body, expect);
        check_interventions(c, body);
    }
}

/// The interventions: each co-signature by one of the vote's scrutineers and valid; a demo
/// session said plainly.
fn check_interventions(c: &mut Checks, body: &ResultBody) {
    if body.demo {
        c.pass(
            "session.demo",
            "演示会议：a demonstration session's bundle, not a real vote",
        );
    }
    let Some(list) = &body.interventions else {
        return;
    };
    let pinned: Vec<&PinnedScrutineer> = body.scrutineers.iter().flatten().collect();
    let mut cosigned = 0;
    for (n, i) in list.iter().enumerate() {
        if let Some(cs) = &i.cosignature {
            let in_set = pinned
                .iter()
                .any(|p| p.public_key.eq_ignore_ascii_case(&cs.public_key));
            let checked = if in_set {
                check_intervention(&body.appliance_key, i, &cs.public_key, &cs.signature)
            } else {
                Err("not by one of the vote's scrutineers".into())
            };
            if let Err(e) = checked {
                c.fail(
                    "interventions",
                    format!("interventions[{n}] ({} {}): {e}", i.deputy, kind_zh(i.kind)),
                );
                return;
            }
            cosigned += 1;
        }
    }
    let checkins = list
        .iter()
        .filter(|i| i.kind == InterventionKind::ManualCheckin)
        .count();
    c.pass(
        "interventions",
        format!(
            "{checkins} manual check-ins and {} reissues of deputies in this vote, {cosigned} co-signed by its scrutineers",
            list.len() - checkins
        ),
    );
}

fn kind_zh(kind: InterventionKind) -> &'static str {
    match kind {
        InterventionKind::ManualCheckin => "补签到",
        InterventionKind::Reissue => "补发登记码",
    }
}

/// The scrutineers signed into the vote: strict, distinct keys; and, when the observer pinned
/// the agenda's keys, exactly those.
fn check_scrutineers(c: &mut Checks, body: &ResultBody, expect: &Expect) {
    let Some(list) = &body.scrutineers else {
        if expect.scrutineers.is_some() {
            c.fail(
                "scrutineers.pinned",
                "the body names no scrutineers to compare with the agenda's",
            );
        }
        return;
    };
    let mut keys = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        match crypto::public_key(&s.public_key) {
            Ok(k) if keys.contains(&k) => {
                c.fail(
                    "scrutineers",
                    format!("scrutineers[{i}]: the key appears twice"),
                );
                return;
            }
            Ok(k) => keys.push(k),
            Err(e) => {
                c.fail("scrutineers", format!("scrutineers[{i}] ({}): {e}", s.name));
                return;
            }
        }
    }
    c.pass(
        "scrutineers",
        if list.is_empty() {
            "no scrutineers were enrolled when the vote opened".to_string()
        } else {
            format!(
                "{} scrutineers signed into the vote: {}",
                list.len(),
                list.iter()
                    .zip(&keys)
                    .map(|(s, k)| format!(
                        "{} (指纹 {})",
                        s.name,
                        crypto::fingerprint_grouped(&crypto::fingerprint(k))
                    ))
                    .collect::<Vec<_>>()
                    .join("、")
            )
        },
    );
    if let Some(agenda) = expect.scrutineers {
        let mut want: Vec<[u8; 32]> = agenda.to_vec();
        want.sort();
        want.dedup();
        let mut got = keys.clone();
        got.sort();
        c.check(
            "scrutineers.pinned",
            if got == want {
                Ok(format!("the {} keys printed on the agenda", want.len()))
            } else {
                let missing = want.iter().filter(|k| !got.contains(k)).count();
                let extra = got.iter().filter(|k| !want.contains(k)).count();
                Err(format!(
                    "the scrutineers differ from the agenda's: {missing} of its keys are missing, {extra} keys are not on it"
                ))
            },
        );
    }
}

fn check_content(c: &mut Checks, body: &ResultBody) {
    let hash = crypto::sha256_hex(body.rules_document.as_bytes());
    c.check(
        "rules.hash",
        if hash == body.rules_sha256 {
            Ok(format!("the rules document hashes to {hash}"))
        } else {
            Err(format!(
                "the rules document hashes to {hash}, not the adopted {}",
                body.rules_sha256
            ))
        },
    );
    let document = match Rules::from_json(body.rules_document.as_bytes()) {
        Ok(r) => {
            c.pass("rules.parse", format!("{} ({})", r.title, r.kind.name_zh()));
            r
        }
        Err(e) => {
            c.fail("rules.parse", format!("rules_document: {e}"));
            return;
        }
    };
    let procedure = body.procedure.clone().unwrap_or_default();
    let rules = if body.procedure.is_some() {
        let effective = procedure
            .check_shape(&document, &body.vote_id, body.items.len())
            .and_then(|()| procedure.rules_for(&document));
        match effective {
            Ok(r) => {
                c.pass("procedure", describe_procedure(&procedure));
                r
            }
            Err(e) => {
                c.fail("procedure", e);
                return;
            }
        }
    } else {
        document
    };
    let manual = procedure.manual.is_some();
    c.check(
        "rules.kind",
        if rules.kind == body.kind
            && rules.secret == body.secret
            && procedure.cosignatures_required(&rules) == body.cosignatures_required
        {
            Ok("kind, secrecy and co-signatures agree with the rules".into())
        } else {
            Err("the body's kind, secret or cosignatures_required differ from the rules".into())
        },
    );
    // Ballots: well-formed, in canonical order.
    let bad: Vec<String> = body
        .ballots
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            ballot::check_choices(&rules, &body.items, b)
                .err()
                .map(|e| format!("ballots[{i}]: {e}"))
        })
        .collect();
    c.check(
        "ballots.wellformed",
        if bad.is_empty() {
            Ok(format!(
                "{} ballots, each valid under the rules",
                body.ballots.len()
            ))
        } else {
            Err(format!("{} bad ballots; first: {}", bad.len(), bad[0]))
        },
    );
    c.check(
        "ballots.order",
        match body.ballots.windows(2).position(|w| w[0] > w[1]) {
            None => Ok("sorted: the order reveals nothing".into()),
            Some(i) => Err(format!("ballots[{}] comes before a smaller ballot", i)),
        },
    );
    // Receipts: well-formed, sorted, unique.
    let malformed = body
        .receipts
        .iter()
        .position(|r| r.len() != 19 || crypto::normalize_code(r).is_none_or(|n| n.len() != 16));
    let unsorted = body.receipts.windows(2).position(|w| w[0] >= w[1]);
    c.check(
        "receipts",
        match (malformed, unsorted) {
            (Some(i), _) => Err(format!(
                "receipts[{i}] `{}` is not a receipt code",
                body.receipts[i]
            )),
            (_, Some(i)) => Err(format!(
                "receipts[{}] and receipts[{}] are out of order or repeated",
                i,
                i + 1
            )),
            _ => Ok(format!(
                "{} receipt codes, sorted and distinct",
                body.receipts.len()
            )),
        },
    );
    // The roll: cast = ballots = receipts ≤ enabled ≤ present ≤ seated; a manual count has
    // no ballots, and its counts are bounded by 实到.
    let roll = body.roll;
    if manual {
        c.check(
            "roll",
            if body.ballots.is_empty()
                && body.receipts.is_empty()
                && roll.cast.is_none()
                && roll.enabled() <= roll.present
                && roll.present <= roll.seated
            {
                Ok(format!(
                    "manual count: no ballots or receipts; present {} ≤ seated {}",
                    roll.present, roll.seated
                ))
            } else {
                Err("a manual count has no ballots, receipts or cast, and present ≤ seated".into())
            },
        );
    } else {
        let n = body.ballots.len() as u64;
        let cast = roll.cast.unwrap_or(u64::MAX);
        let enabled = roll.enabled();
        c.check(
        "roll",
        if cast == n
            && n == body.receipts.len() as u64
            && cast <= enabled
            && enabled <= roll.present
            && roll.present <= roll.seated
        {
            Ok(format!(
                "cast {cast} = ballots {n} = receipts {} ≤ enabled {enabled} ≤ present {} ≤ seated {}",
                body.receipts.len(),
                roll.present,
                roll.seated
            ))
        } else {
            Err(format!(
                "cast {} / ballots {n} / receipts {} / enabled {enabled} / present {} / seated {} do not satisfy cast = ballots = receipts ≤ enabled ≤ present ≤ seated",
                roll.cast.map_or("missing".into(), |c| c.to_string()),
                body.receipts.len(),
                roll.present,
                roll.seated
            ))
        },
    );
    }
    // Recount; a manual count's counts are the counters' (co-signed by the scrutineers).
    let recount = if manual {
        c.pass(
            "counts.recount",
            "manual count: the counts as the counters reported them, co-signed by the scrutineers",
        );
        body.counts.clone()
    } else {
        let recount = ballot::count(rules.options.len(), body.items.len(), &body.ballots);
        c.check(
            "counts.recount",
            first_difference(&recount, &body.counts).map_or(
                Ok("the ballots give exactly the published counts".into()),
                Err,
            ),
        );
        recount
    };
    // Re-decide with the rules engine, from the recount.
    match Counts::new(&rules, body.items.clone(), roll, recount) {
        Err(e) => c.fail(
            "outcome.rerun",
            format!("the rules refuse the recount: {e}"),
        ),
        Ok(counts) => {
            let warnings = rules.check_items(body.items.len()).unwrap_or_default();
            let outcome = rules::decide(&rules, &counts, warnings);
            let rerun = serde_json::to_value(&outcome).unwrap_or(Value::Null);
            c.check(
                "outcome.rerun",
                match value_difference(&rerun, &body.outcome, "outcome") {
                    None => Ok("the rules give the published outcome".into()),
                    Some(d) => Err(d),
                },
            );
            c.check(
                "announcement",
                if outcome.announcement == body.announcement {
                    Ok("the announcement is the one the rules produce".into())
                } else {
                    Err("the announcement differs from the one the rules produce".into())
                },
            );
        }
    }
    // A named vote: the named choices are exactly the ballots.
    if body.by_delegation.is_some() && (body.secret || body.named.is_none()) {
        c.fail(
            "named.delegations",
            "counts per delegation belong to a named vote's named choices",
        );
    }
    match (&body.named, body.secret) {
        (None, true) => {}
        (None, false) if manual => {}
        (Some(_), _) if manual => c.fail("named", "a manual count publishes no named choices"),
        (Some(_), true) => c.fail("named", "a secret vote must not publish named choices"),
        (None, false) => c.fail("named", "a named vote must publish each deputy's choices"),
        (Some(named), false) => {
            let mut from_names: Vec<Vec<u8>> = named.iter().map(|n| n.choices.clone()).collect();
            from_names.sort();
            let mut ids: Vec<&String> = named.iter().map(|n| &n.deputy).collect();
            ids.sort();
            ids.dedup();
            if let Some(published) = &body.by_delegation {
                c.check(
                    "named.delegations",
                    match by_delegation(named, rules.options.len(), body.items.len()) {
                        None => Err("a named choice has no delegation, but counts per delegation are published".into()),
                        Some(d) if &d == published => Ok(format!(
                            "{} delegations, each counted from its deputies' named choices",
                            d.len()
                        )),
                        Some(_) => Err("the counts per delegation are not the named choices' counts".into()),
                    },
                );
            }
            c.check(
                "named",
                if from_names != body.ballots {
                    Err("the named choices are not the same ballots as the anonymous list".into())
                } else if ids.len() != named.len() {
                    Err("a deputy is named twice".into())
                } else {
                    Ok(format!(
                        "{} deputies named, matching the ballots",
                        named.len()
                    ))
                },
            );
        }
    }
}

/// The procedure in the verifier's words.
fn describe_procedure(p: &crate::procedure::Procedure) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &p.revote_of {
        parts.push(format!("re-vote of {} ({}: {})", r.vote, r.state, r.reason));
    }
    if let Some(r) = &p.runoff_of {
        parts.push(format!(
            "run-off of {} ({}), {} seats",
            r.vote,
            r.reason.name_zh(),
            r.seats
        ));
    }
    if let Some(s) = &p.source {
        parts.push(format!(
            "测评 of the projects of bundle {}",
            &s.bundle_sha256[..16]
        ));
    }
    if let Some(m) = &p.manual {
        parts.push(format!(
            "{} counted by {}",
            m.method.heading_zh(),
            m.counted_by.join("、")
        ));
    }
    parts.join("; ")
}

fn first_difference(recount: &[Vec<u64>], published: &[Vec<u64>]) -> Option<String> {
    if recount.len() != published.len() {
        return Some(format!(
            "counts: {} items published, {} expected",
            published.len(),
            recount.len()
        ));
    }
    for (i, (a, b)) in recount.iter().zip(published).enumerate() {
        if a.len() != b.len() {
            return Some(format!(
                "counts[{i}]: {} options published, {} expected",
                b.len(),
                a.len()
            ));
        }
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                return Some(format!(
                    "counts[{i}][{j}]: the bundle says {y}, the ballots give {x}"
                ));
            }
        }
    }
    None
}

/// Where two JSON values first differ, as a path: `outcome.items[3].selected`.
fn value_difference(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => {
                        if let Some(d) = value_difference(v, w, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: missing")),
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: not produced by the rules"))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!(
                    "{path}: {} entries published, the rules give {}",
                    b.len(),
                    a.len()
                ));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| value_difference(x, y, &format!("{path}[{i}]")))
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: the bundle says {b}, the rules give {a}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_bytes_fail_the_envelope_check() {
        for bytes in [
            &b""[..],
            b"{}",
            b"[1,2]",
            br#"{"format":"piaojue-bundle/1","body":"!!!","signatures":[]}"#,
            br#"{"format":"piaojue-bundle/9","body":"","signatures":[]}"#,
        ] {
            let r = verify(bytes, &Expect::default());
            assert!(!r.verified);
            assert_eq!(r.checks[0].name, "envelope");
            assert!(!r.checks[0].ok);
        }
        // A valid envelope around garbage: the body check fails, and so do the signatures.
        let env = Envelope::new("not json", vec![]);
        let r = verify(env.to_json().unwrap().as_bytes(), &Expect::default());
        assert!(!r.verified);
        assert!(r.checks.iter().any(|c| c.name == "body" && !c.ok));
        assert!(
            r.checks
                .iter()
                .any(|c| c.name == "signature.appliance" && !c.ok)
        );
    }

    #[test]
    fn value_differences_are_located() {
        let a = serde_json::json!({"items": [{"selected": true}], "tie": null});
        let b = serde_json::json!({"items": [{"selected": false}], "tie": null});
        assert_eq!(
            value_difference(&a, &b, "outcome").unwrap(),
            "outcome.items[0].selected: the bundle says false, the rules give true"
        );
        assert!(value_difference(&a, &a, "outcome").is_none());
    }
}
