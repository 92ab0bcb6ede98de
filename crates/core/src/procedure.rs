//! The hall's procedures as a result records them (docs/procedures.md): a re-vote names the
//! vote it repeats, a run-off its parent's bundle, a 测评 the 票决 bundle its projects came
//! from, and a manual count how it was counted. Carried as `procedure` in both result
//! formats (v1 body, v2 result keys), checked alone by [`Procedure::check_shape`] and against
//! the linked bundle by [`check_runoff`] and [`check_source`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rules::{KindRules, Rules, ShortfallRule, TieRule};

/// How a vote came about, beyond a plain new vote. Every part is optional; an empty
/// procedure is never written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// 重新表决: the cancelled or failed vote this one repeats, and why that one ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revote_of: Option<RevoteOf>,
    /// A run-off among candidates of an earlier 票决 (its parent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runoff_of: Option<RunoffOf>,
    /// A 满意度测评 whose items are the projects a 票决 bundle adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Counted by hand (举手 or 纸质票), not by ballots on tablets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<Manual>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevoteOf {
    pub vote: String,
    /// `cancelled` or `failed`.
    pub state: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunoffReason {
    /// Candidates tied across the cut (`tie_rule: revote_tied`).
    Tie,
    /// Fewer adopted than the seats (`shortfall_rule: revote_remaining`).
    Shortfall,
}

impl RunoffReason {
    pub fn name_zh(self) -> &'static str {
        match self {
            RunoffReason::Tie => "对得票相等的项目重新票决",
            RunoffReason::Shortfall => "就剩余名额另行票决",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunoffOf {
    /// The parent vote's id (same session).
    pub vote: String,
    /// SHA-256 of the parent's result body.
    pub bundle_sha256: String,
    pub reason: RunoffReason,
    /// The candidates, as indices into the parent's items, in the parent's order.
    pub candidates: Vec<u32>,
    /// The seats the run-off fills.
    pub seats: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// SHA-256 of the source 票决's result body.
    pub bundle_sha256: String,
    /// The appliance key (hex) that signed it: this session's or an earlier one's.
    pub appliance_key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualMethod {
    /// 举手表决.
    ShowOfHands,
    /// 纸质票.
    Paper,
}

impl ManualMethod {
    /// The hall screen's heading.
    pub fn heading_zh(self) -> &'static str {
        match self {
            ManualMethod::ShowOfHands => "举手表决结果",
            ManualMethod::Paper => "纸质票计票结果",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manual {
    pub method: ManualMethod,
    /// Who counted (监票人、计票人), as named by the secretariat.
    pub counted_by: Vec<String>,
    /// Why the count was manual, or anything the hall was told.
    pub note: String,
}

/// The most names in `counted_by`, and the longest text of any name, reason or note.
pub const MAX_COUNTERS: usize = 20;
pub const MAX_TEXT_CHARS: usize = 500;

/// The fewest scrutineers' co-signatures a manual count needs: never announced on the
/// operator's word alone, whatever the rules document says.
pub const MANUAL_MIN_COSIGNATURES: u32 = 1;

fn text(field: &str, s: &str) -> Result<(), String> {
    let n = s.chars().count();
    if s.trim().is_empty() || n > MAX_TEXT_CHARS || s.chars().any(char::is_control) {
        return Err(format!(
            "{field}: 1 to {MAX_TEXT_CHARS} characters, no control characters"
        ));
    }
    Ok(())
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Procedure {
    pub fn is_empty(&self) -> bool {
        self == &Procedure::default()
    }

    /// Checks what can be checked without the linked bundles: the shapes, and that the
    /// parts fit the vote (`vote_id` its id, `items` its item count, `rules` its document).
    pub fn check_shape(&self, rules: &Rules, vote_id: &str, items: usize) -> Result<(), String> {
        if self.is_empty() {
            return Err("procedure: present but empty".into());
        }
        if let Some(r) = &self.revote_of {
            if r.vote == vote_id {
                return Err("procedure.revote_of.vote: a vote cannot repeat itself".into());
            }
            if r.state != "cancelled" && r.state != "failed" {
                return Err("procedure.revote_of.state: `cancelled` or `failed`".into());
            }
            text("procedure.revote_of.reason", &r.reason)?;
            crate::ids::VoteId::parse(&r.vote).ok_or("procedure.revote_of.vote: not a vote id")?;
        }
        if let Some(r) = &self.runoff_of {
            crate::ids::VoteId::parse(&r.vote).ok_or("procedure.runoff_of.vote: not a vote id")?;
            if r.vote == vote_id {
                return Err("procedure.runoff_of.vote: a vote cannot be its own parent".into());
            }
            if !is_hex64(&r.bundle_sha256) {
                return Err("procedure.runoff_of.bundle_sha256: 64 lowercase hex digits".into());
            }
            if r.candidates.len() != items {
                return Err(format!(
                    "procedure.runoff_of.candidates: {} candidates for {items} items",
                    r.candidates.len()
                ));
            }
            if r.candidates.windows(2).any(|w| w[0] >= w[1]) {
                return Err(
                    "procedure.runoff_of.candidates: distinct, in the parent's order".into(),
                );
            }
            if r.seats == 0 || r.seats as usize > items {
                return Err(format!(
                    "procedure.runoff_of.seats: {} seats for {items} candidates",
                    r.seats
                ));
            }
            if rules.for_runoff(r.seats).is_none() {
                return Err(format!(
                    "procedure.runoff_of.seats: {} seats is not a run-off of this rules document",
                    r.seats
                ));
            }
        }
        if let Some(s) = &self.source {
            if !is_hex64(&s.bundle_sha256) || !is_hex64(&s.appliance_key) {
                return Err(
                    "procedure.source: bundle_sha256 and appliance_key are 64 lowercase hex digits"
                        .into(),
                );
            }
            if rules.kind != crate::rules::Kind::Satisfaction {
                return Err("procedure.source: only a 满意度测评 is built from a bundle".into());
            }
        }
        if let Some(m) = &self.manual {
            if m.counted_by.is_empty() || m.counted_by.len() > MAX_COUNTERS {
                return Err(format!(
                    "procedure.manual.counted_by: 1 to {MAX_COUNTERS} names"
                ));
            }
            for (i, name) in m.counted_by.iter().enumerate() {
                text(&format!("procedure.manual.counted_by[{i}]"), name)?;
            }
            text("procedure.manual.note", &m.note)?;
        }
        Ok(())
    }

    /// The rules this vote is decided under: the document's, or a run-off's (`for_runoff`).
    pub fn rules_for(&self, rules: &Rules) -> Result<Rules, String> {
        match &self.runoff_of {
            None => Ok(rules.clone()),
            Some(r) => rules.for_runoff(r.seats).ok_or_else(|| {
                format!(
                    "procedure.runoff_of.seats: {} seats is not a run-off of this rules document",
                    r.seats
                )
            }),
        }
    }

    /// The co-signatures a result under these rules needs.
    pub fn cosignatures_required(&self, rules: &Rules) -> u32 {
        if self.manual.is_some() {
            rules.cosignatures_required.max(MANUAL_MIN_COSIGNATURES)
        } else {
            rules.cosignatures_required
        }
    }
}

/// The rules a vote with this (optional) procedure is decided under.
pub fn effective_rules(procedure: Option<&Procedure>, rules: &Rules) -> Result<Rules, String> {
    procedure.map_or_else(|| Ok(rules.clone()), |p| p.rules_for(rules))
}

/// What a decided result says, whichever its format: what the procedures link to.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    pub body_sha256: String,
    pub session: String,
    pub appliance_key: String,
    pub vote_id: String,
    pub title: String,
    pub items: Vec<String>,
    pub rules_sha256: String,
    pub rules_document: String,
    /// `null` for a vote declared failed.
    pub outcome: Value,
    pub procedure: Option<Procedure>,
    pub previous_bundle_sha256: Option<String>,
    /// Made by a demonstration session.
    pub demo: bool,
    /// The text read out in the hall (a failed vote's declaration).
    pub announcement: String,
}

impl Decided {
    /// Reads the result out of a bundle (v1 or v2 envelope) without verifying it: the
    /// caller verifies the bundle itself.
    pub fn read(bytes: &[u8]) -> Result<Decided, String> {
        use base64::Engine as _;
        let envelope: crate::bundle::Envelope =
            serde_json::from_slice(bytes).map_err(|e| format!("not a bundle envelope: {e}"))?;
        let body = base64::engine::general_purpose::STANDARD
            .decode(envelope.body.as_bytes())
            .map_err(|e| format!("body is not base64: {e}"))?;
        let body_sha256 = crate::crypto::sha256_hex(&body);
        if envelope.format == crate::bundle::ENVELOPE_FORMAT {
            let b: crate::bundle::ResultBody =
                serde_json::from_slice(&body).map_err(|e| format!("the body: {e}"))?;
            Ok(Decided {
                body_sha256,
                session: b.session,
                appliance_key: b.appliance_key,
                vote_id: b.vote_id,
                title: b.title,
                items: b.items,
                rules_sha256: b.rules_sha256,
                rules_document: b.rules_document,
                outcome: b.outcome,
                procedure: b.procedure,
                previous_bundle_sha256: b.previous_bundle_sha256,
                demo: b.demo,
                announcement: b.announcement,
            })
        } else if envelope.format == crate::e2e::bundle::ENVELOPE_FORMAT {
            let k: crate::rules::encrypted::ResultKeys =
                serde_json::from_slice(&body).map_err(|e| format!("the result keys: {e}"))?;
            Ok(Decided {
                body_sha256,
                session: k.session,
                appliance_key: k.appliance_key,
                vote_id: k.vote_record.vote_id,
                title: k.vote_record.title,
                items: k.vote_record.items,
                rules_sha256: k.rules_sha256,
                rules_document: k.rules_document,
                outcome: k.outcome,
                procedure: k.procedure,
                previous_bundle_sha256: k.chain.previous_bundle_sha256,
                demo: k.demo,
                announcement: k.announcement,
            })
        } else {
            Err(format!(
                "format `{}` is not a result bundle",
                envelope.format
            ))
        }
    }

    /// The rules the vote was decided under.
    pub fn rules(&self) -> Result<Rules, String> {
        let doc = Rules::from_json(self.rules_document.as_bytes())
            .map_err(|e| format!("rules_document: {e}"))?;
        effective_rules(self.procedure.as_ref(), &doc)
    }

    /// What a 测评 shows beside its own result: the source 票决's session, vote and, for each
    /// adopted project in rank order, its 赞成 and rank.
    pub fn summary(&self) -> Value {
        let items = self.outcome.get("items").and_then(Value::as_array);
        let projects: Vec<Value> = self
            .selected()
            .into_iter()
            .map(|name| {
                let row = items.and_then(|a| a.iter().find(|i| i["item"] == name.as_str()));
                let yes = row
                    .and_then(|r| r["counts"].as_object())
                    .and_then(|c| c.values().next())
                    .cloned()
                    .unwrap_or(Value::Null);
                let rank = row.map_or(Value::Null, |r| r["rank"].clone());
                serde_json::json!({ "item": name, "yes": yes, "rank": rank })
            })
            .collect();
        serde_json::json!({
            "session": self.session,
            "vote_id": self.vote_id,
            "title": self.title,
            "bundle_sha256": self.body_sha256,
            "projects": projects,
        })
    }

    /// The adopted projects in rank order (`selected`), for a 票决.
    pub fn selected(&self) -> Vec<String> {
        self.outcome
            .get("selected")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The run-off this result calls for under its rules, if any: why, which of its items
    /// (indices) and how many seats.
    pub fn runoff_called_for(&self) -> Result<(RunoffReason, Vec<u32>, u32), String> {
        runoff_called_for(&self.rules()?, &self.outcome, &self.vote_id)
    }
}

/// The run-off a decided 票决 calls for under its (effective) rules: a tie at the cut under
/// `revote_tied` (the tied candidates, the seats they contend for), or seats left under
/// `revote_remaining` (every candidate not adopted, the seats left). Read from the outcome.
pub fn runoff_called_for(
    rules: &Rules,
    outcome: &Value,
    vote_id: &str,
) -> Result<(RunoffReason, Vec<u32>, u32), String> {
    let KindRules::ProjectSelection {
        tie_rule,
        shortfall_rule,
        ..
    } = rules.params
    else {
        return Err(format!("{vote_id} is not a 票决: no run-off"));
    };
    let items = outcome
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{vote_id} has no outcome"))?;
    // A vote without its quorum decided nothing: it is held again (重新表决), not run off.
    if outcome.get("quorum_met").and_then(Value::as_bool) != Some(true) {
        return Err(format!(
            "{vote_id} did not meet its quorum: no run-off (a re-vote, if any)"
        ));
    }
    let flag = |i: &Value, k: &str| i.get(k).and_then(Value::as_bool).unwrap_or(false);
    let pick = |k: &str, want: bool| -> Vec<u32> {
        items
            .iter()
            .enumerate()
            .filter(|(_, i)| flag(i, k) == want)
            .map(|(n, _)| n as u32)
            .collect()
    };
    let tie_seats = outcome
        .get("tie")
        .and_then(|t| t.get("seats"))
        .and_then(Value::as_u64);
    let shortfall = outcome
        .get("shortfall")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    match (tie_seats, shortfall) {
        (Some(seats), _) if tie_rule == TieRule::RevoteTied => {
            Ok((RunoffReason::Tie, pick("tied", true), seats as u32))
        }
        (Some(_), _) => Err(format!(
            "{vote_id}'s tie is decided by its rules ({}), not by a run-off",
            match tie_rule {
                TieRule::ChairDecides => "chair_decides",
                _ => "include_all_tied",
            }
        )),
        (None, n) if n > 0 && shortfall_rule == ShortfallRule::RevoteRemaining => {
            let rest = pick("selected", false);
            if rest.is_empty() {
                return Err(format!("{vote_id} has no candidate left to vote on"));
            }
            // Never more seats than candidates left.
            let seats = (n as usize).min(rest.len()) as u32;
            Ok((RunoffReason::Shortfall, rest, seats))
        }
        (None, n) if n > 0 => Err(format!(
            "{vote_id}'s shortfall is settled by its rules (shortfall_rule is not revote_remaining)"
        )),
        _ => Err(format!(
            "{vote_id} has neither a tie at the cut nor seats left: no run-off"
        )),
    }
}

/// The run-off `child` is exactly the one `parent` calls for: same session and rules, its
/// parent's bundle, its candidates and seats, its items the parent's.
pub fn check_runoff(child: &Decided, parent: &Decided) -> Result<String, String> {
    let r = child
        .procedure
        .as_ref()
        .and_then(|p| p.runoff_of.as_ref())
        .ok_or("not a run-off")?;
    if r.bundle_sha256 != parent.body_sha256 {
        return Err(format!(
            "runoff_of.bundle_sha256 names {}, the parent's body hashes to {}",
            r.bundle_sha256, parent.body_sha256
        ));
    }
    if r.vote != parent.vote_id {
        return Err(format!(
            "runoff_of.vote names {}, the parent bundle is {}",
            r.vote, parent.vote_id
        ));
    }
    if child.session != parent.session || child.appliance_key != parent.appliance_key {
        return Err("the run-off and its parent are not of one session and appliance".into());
    }
    if child.rules_sha256 != parent.rules_sha256 {
        return Err("a run-off is held under its parent's rules document".into());
    }
    let (reason, candidates, seats) = parent.runoff_called_for()?;
    if r.reason != reason {
        return Err(format!(
            "runoff_of.reason: the parent calls for `{}`",
            serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ));
    }
    if r.candidates != candidates {
        return Err(format!(
            "runoff_of.candidates: the parent's outcome gives {candidates:?}, not {:?}",
            r.candidates
        ));
    }
    if r.seats != seats {
        return Err(format!(
            "runoff_of.seats: the parent leaves {seats} seats, not {}",
            r.seats
        ));
    }
    let names: Vec<&String> = candidates
        .iter()
        .filter_map(|&i| parent.items.get(i as usize))
        .collect();
    if names.len() != child.items.len() || names.iter().zip(&child.items).any(|(a, b)| *a != b) {
        return Err("items: not the parent's candidates by name, in its order".into());
    }
    Ok(format!(
        "{}: {} candidates of {} for {seats} seats ({})",
        reason.name_zh(),
        candidates.len(),
        parent.vote_id,
        &parent.body_sha256[..16]
    ))
}

/// A 测评 built from `source`: it names that bundle and its key, and its items are exactly
/// the projects it adopted, in rank order.
pub fn check_source(child: &Decided, source: &Decided) -> Result<String, String> {
    let s = child
        .procedure
        .as_ref()
        .and_then(|p| p.source.as_ref())
        .ok_or("not built from a bundle")?;
    if s.bundle_sha256 != source.body_sha256 {
        return Err(format!(
            "source.bundle_sha256 names {}, the source's body hashes to {}",
            s.bundle_sha256, source.body_sha256
        ));
    }
    if s.appliance_key != source.appliance_key {
        return Err("source.appliance_key: not the key that signed the source bundle".into());
    }
    source_items(source).and_then(|items| {
        if items == child.items {
            // The key is the source's own: its fingerprint is what an observer compares with
            // the source session's printed 公告.
            let fingerprint = crate::crypto::unhex::<32>(&source.appliance_key)
                .map(|k| crate::crypto::fingerprint_grouped(&crate::crypto::fingerprint(&k)))
                .unwrap_or_default();
            Ok(format!(
                "the {} projects adopted by {} ({}), in rank order; signed by the appliance key with fingerprint {fingerprint}",
                items.len(),
                source.vote_id,
                source.session
            ))
        } else {
            Err("items: not the projects the source bundle adopted, in its rank order".into())
        }
    })
}

/// The items a 测评 built from this 票决 rates: what it adopted, in rank order.
pub fn source_items(source: &Decided) -> Result<Vec<String>, String> {
    let rules = source.rules()?;
    if !matches!(rules.params, KindRules::ProjectSelection { .. }) {
        return Err(format!(
            "{} is a {}, not a 票决",
            source.vote_id,
            rules.kind.name_zh()
        ));
    }
    let items = source.selected();
    if items.is_empty() {
        return Err(format!("{} adopted no project", source.vote_id));
    }
    Ok(items)
}

/// Verifies a result bundle of either format under a pinned appliance key, with the
/// session's previous bundle when given: what a link's target must pass before it counts.
pub fn verify_any(bytes: &[u8], key: [u8; 32], previous: Option<&[u8]>) -> crate::bundle::Report {
    verify_pinned(bytes, key, previous, None)
}

/// [`verify_any`], with the scrutineers' keys as printed on the agenda: a plain bundle must
/// name exactly these (an encrypted one's scrutineers are its session manifest's).
pub fn verify_pinned(
    bytes: &[u8],
    key: [u8; 32],
    previous: Option<&[u8]>,
    scrutineers: Option<&[[u8; 32]]>,
) -> crate::bundle::Report {
    if crate::e2e::bundle::is_v2(bytes) {
        crate::e2e::bundle::verify_document(
            bytes,
            &crate::e2e::bundle::VerifyOptions {
                appliance_key: Some(key),
                previous: previous.map(<[u8]>::to_vec),
                ..Default::default()
            },
        )
    } else {
        crate::bundle::verify(
            bytes,
            &crate::bundle::Expect {
                key: Some(key),
                previous,
                scrutineers,
                ..Default::default()
            },
        )
    }
}

/// The first failed check of a report, for a one-line refusal.
pub fn first_failure(report: &crate::bundle::Report) -> String {
    report
        .checks
        .iter()
        .find(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection() -> Rules {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../firmware-config/rules/project-selection.json");
        Rules::from_json(&std::fs::read(path).expect("rules")).expect("valid")
    }

    fn runoff(vote: &str, seats: u32, candidates: Vec<u32>) -> Procedure {
        Procedure {
            runoff_of: Some(RunoffOf {
                vote: vote.into(),
                bundle_sha256: "ab".repeat(32),
                reason: RunoffReason::Tie,
                candidates,
                seats,
            }),
            ..Procedure::default()
        }
    }

    /// Regression (review of issue 16): a signed run-off of 3 seats among 2 candidates
    /// verified on its own.
    #[test]
    fn a_runoff_cannot_have_more_seats_than_candidates() {
        let r = selection();
        assert!(runoff("v1", 1, vec![3, 4]).check_shape(&r, "v2", 2).is_ok());
        let e = runoff("v1", 3, vec![3, 4])
            .check_shape(&r, "v2", 2)
            .unwrap_err();
        assert!(e.contains("3 seats for 2 candidates"), "{e}");
        assert!(
            runoff("v1", 0, vec![3, 4])
                .check_shape(&r, "v2", 2)
                .is_err()
        );
    }

    /// Regression (review of issue 16): a vote naming itself as its parent or as the vote
    /// it repeats verified on its own.
    #[test]
    fn a_vote_cannot_link_to_itself() {
        let r = selection();
        assert!(
            runoff("v2", 1, vec![3, 4])
                .check_shape(&r, "v2", 2)
                .is_err()
        );
        let p = Procedure {
            revote_of: Some(RevoteOf {
                vote: "v2".into(),
                state: "cancelled".into(),
                reason: "故障".into(),
            }),
            ..Procedure::default()
        };
        assert!(p.check_shape(&r, "v2", 7).is_err());
        assert!(p.check_shape(&r, "v3", 7).is_ok());
    }

    /// Regression (review of issue 16): a 票决 without its quorum (nothing adopted, so every
    /// seat "left") was offered a run-off of every candidate instead of a re-vote.
    #[test]
    fn a_vote_without_its_quorum_calls_for_no_runoff() {
        let mut doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../firmware-config/rules/project-selection.json"),
            )
            .unwrap(),
        )
        .unwrap();
        doc["shortfall_rule"] = serde_json::json!("revote_remaining");
        let r = Rules::from_json(doc.to_string().as_bytes()).unwrap();
        let outcome = serde_json::json!({
            "quorum_met": false, "items": [{"selected": false, "tied": false}], "tie": null, "shortfall": 5
        });
        let e = runoff_called_for(&r, &outcome, "v1").unwrap_err();
        assert!(e.contains("quorum"), "{e}");
        let met = serde_json::json!({
            "quorum_met": true, "items": [{"selected": false, "tied": false}], "tie": null, "shortfall": 5
        });
        assert_eq!(
            runoff_called_for(&r, &met, "v1").unwrap(),
            (RunoffReason::Shortfall, vec![0], 1)
        );
    }

    /// Regression (review of issue 16): v2 result keys accepted `procedure: {}`, v1 refused it.
    #[test]
    fn an_empty_procedure_is_refused() {
        let e = Procedure::default()
            .check_shape(&selection(), "v1", 7)
            .unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    /// The run-off's rules: its seats, at most that many 赞成, and the majority kept unless
    /// `runoff_majority: false` (then 「以得票多的确定」: any candidate with a vote).
    #[test]
    fn a_runoff_is_decided_under_its_seats_and_the_runoff_majority_rule() {
        use crate::rules::{Counts, Roll, decide};
        let r = selection().for_runoff(1).expect("one seat");
        let KindRules::ProjectSelection {
            select_n, max_yes, ..
        } = r.params
        else {
            panic!("kind")
        };
        assert_eq!((select_n, max_yes), (1, 1));
        // 327 seated, 314 present: 150 赞成 is not 全体代表的过半数 (164).
        let roll = Roll {
            seated: 327,
            present: 314,
            enabled: None,
            cast: Some(314),
        };
        let counts = vec![vec![150, 100, 64], vec![140, 110, 64]];
        let items = vec!["甲".to_string(), "乙".to_string()];
        let c = Counts::new(&r, items.clone(), roll, counts.clone()).expect("counts");
        let o = decide(&r, &c, Vec::new());
        assert_eq!(
            serde_json::to_value(&o.decision).unwrap()["selected"],
            serde_json::json!([])
        );
        let mut doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../firmware-config/rules/project-selection.json"),
            )
            .unwrap(),
        )
        .unwrap();
        doc["runoff_majority"] = serde_json::json!(false);
        let free = Rules::from_json(doc.to_string().as_bytes())
            .unwrap()
            .for_runoff(1)
            .unwrap();
        let c = Counts::new(&free, items, roll, counts).expect("counts");
        let o = decide(&free, &c, Vec::new());
        assert_eq!(
            serde_json::to_value(&o.decision).unwrap()["selected"],
            serde_json::json!(["甲"])
        );
        assert!(
            o.announcement.contains("以得票多的确定"),
            "{}",
            o.announcement
        );
    }
}
