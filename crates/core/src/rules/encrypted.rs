//! From a rules document to an encrypted vote's shape and back (issue 15's mapping):
//! motion → `motion`, 票决 `per_item` → `per_item`, `approve_up_to_n` → `approve_up_to_n`,
//! 满意度测评 → `satisfaction` with L = 3 or 4. The encrypted ballot's option labels are fixed
//! by SPEC-E2E §6.4 (except satisfaction's); the rules document's options keep their meaning
//! by position (the first is the yes, then the no, then 弃权), and decoded counts are put back
//! in the document's option order before the rules engine decides.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::document::ABSTAIN;
use super::{Counts, Form, Kind, KindRules, Outcome, Roll, Rules};
use crate::bundle::AuditHead;
use crate::e2e::manifest::VoteManifest;
use crate::e2e::packing::VoteType;

/// How a vote under a rules document is encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct E2eForm {
    /// The vote manifest's type.
    pub vote_type: VoteType,
    /// N (per_item and approve_up_to_n).
    pub max_yes: Option<u64>,
    /// Satisfaction's labels (the document's, in its order); None for the fixed types.
    pub options: Option<Vec<String>>,
    /// For each encoding index (§6.4 order), the document's option it counts for, if any.
    pub to_rules: Vec<Option<usize>>,
}

/// Why a rules document cannot be encrypted (Chinese first, then English).
fn no(msg: &str) -> String {
    format!("该表决办法不能用加密表决：{msg}")
}

/// The most items an encrypted vote takes: a per_item ballot of 64 items is about 46 KB of
/// JSON (under the appliance's 256 KiB ballot cap) and 3,000 of them about 140 MB (under the
/// 256 MiB bundle cap); the hall's largest 票决 lists a few dozen projects.
pub const MAX_ENCRYPTED_ITEMS: usize = 64;

/// The document's yes and no, by position, must be the words the booth shows (§6.4 fixes the
/// encrypted ballot's labels): a document listing 反对 first would count the booth's 赞成 as
/// its 反对 (the relabelling attack of §6.4, one level up).
fn fixed_words(options: &[String], with_abstain: bool) -> bool {
    let o = |i: usize| options.get(i).map(String::as_str);
    o(0) == Some("赞成")
        && matches!(o(1), Some("反对" | "不赞成"))
        && (!with_abstain || (options.len() == 3 && o(2) == Some(ABSTAIN)))
}

/// The encrypted form of a vote with `items` items under `rules`, or why there is none.
pub fn form_for(rules: &Rules, items: usize) -> Result<E2eForm, String> {
    let n = rules.options.len();
    if items > MAX_ENCRYPTED_ITEMS {
        return Err(no(&format!(
            "加密投票每次最多{MAX_ENCRYPTED_ITEMS}项，本表决有{items}项，请分为几次表决或使用普通投票（an encrypted vote takes at most {MAX_ENCRYPTED_ITEMS} items, this one has {items}: each ballot and the bundle grow with the items）"
        )));
    }
    let abstain_last = fixed_words(&rules.options, true);
    match (&rules.kind, &rules.params) {
        (Kind::Motion, _) => {
            if items != 1 {
                return Err(no(&format!(
                    "加密的表决每次只表决一项议案，请为{items}项议案分别建立表决（an encrypted motion has exactly one item, SPEC-E2E §6.4）"
                )));
            }
            if n != 3 || !abstain_last {
                return Err(no(
                    "加密表决的选项固定为赞成、反对、弃权（SPEC-E2E §6.4 fixes a motion's options; the document must offer exactly 赞成, 反对 or 不赞成, 弃权 in that order）",
                ));
            }
            Ok(E2eForm {
                vote_type: VoteType::Motion,
                max_yes: None,
                options: None,
                // 弃权, 反对, 赞成 ← the document's third, second, first.
                to_rules: vec![Some(2), Some(1), Some(0)],
            })
        }
        (
            Kind::ProjectSelection,
            KindRules::ProjectSelection {
                form: Form::PerItem,
                max_yes,
                ..
            },
        ) => {
            if n != 3 || !abstain_last {
                return Err(no(
                    "逐项票决的选项固定为赞成、不赞成、弃权（SPEC-E2E §6.4 fixes per_item's options; the document must offer exactly 赞成, 不赞成 or 反对, 弃权 in that order）",
                ));
            }
            Ok(E2eForm {
                vote_type: VoteType::PerItem,
                max_yes: Some(u64::from(*max_yes).min(items as u64)),
                options: None,
                to_rules: vec![Some(2), Some(1), Some(0)],
            })
        }
        (
            Kind::ProjectSelection,
            KindRules::ProjectSelection {
                form: Form::ApproveUpToN,
                ..
            },
        ) if !(rules.options.first().map(String::as_str) == Some("赞成")
            && (n < 2 || fixed_words(&rules.options, false))) =>
        {
            Err(no(
                "限额票决的加密选票只有选与不选，办法的第一个选项须为赞成、第二个为不赞成或反对（SPEC-E2E §6.4: approve_up_to_n's 选 counts as the document's 赞成 and 不选 as its 不赞成 or 反对）",
            ))
        }
        (
            Kind::ProjectSelection,
            KindRules::ProjectSelection {
                form: Form::ApproveUpToN,
                max_yes,
                ..
            },
        ) => Ok(E2eForm {
            vote_type: VoteType::ApproveUpToN,
            max_yes: Some(u64::from(*max_yes).min(items as u64)),
            options: None,
            // 不选 counts as the document's second option when it has one; 选 as its first.
            to_rules: vec![(n >= 2).then_some(1), Some(0)],
        }),
        (Kind::Satisfaction, _) => {
            if !(3..=4).contains(&n) {
                return Err(no(&format!(
                    "满意度测评的加密选票只能有3或4个等次，本办法有{n}个（SPEC-E2E §6.4: satisfaction takes 3 or 4 options, this document has {n}）"
                )));
            }
            Ok(E2eForm {
                vote_type: VoteType::Satisfaction,
                max_yes: None,
                options: Some(rules.options.clone()),
                to_rules: (0..n).map(Some).collect(),
            })
        }
        (Kind::ProjectSelection, _) => Err(no("unknown 票决 form")),
    }
}

/// Decoded counts (per item, in encoding order) in the document's option order.
pub fn counts_in_rules_order(form: &E2eForm, options: usize, counts: &[Vec<u64>]) -> Vec<Vec<u64>> {
    counts
        .iter()
        .map(|item| {
            let mut out = vec![0u64; options];
            for (e, c) in item.iter().enumerate() {
                if let Some(Some(r)) = form.to_rules.get(e)
                    && let Some(slot) = out.get_mut(*r)
                {
                    *slot += c;
                }
            }
            out
        })
        .collect()
}

impl E2eForm {
    /// Whether a vote manifest is this form over `items` (the officer's manifest must be the
    /// vote the secretariat created: its type, items in order, N and labels).
    pub fn check_manifest(&self, vm: &VoteManifest, items: &[String]) -> Result<(), String> {
        if vm.shape().vote_type() != self.vote_type {
            return Err(format!(
                "type: the manifest says {}, the rules document makes it {}",
                vm.shape().vote_type().as_str(),
                self.vote_type.as_str()
            ));
        }
        if vm.items != items {
            return Err("items: the manifest's items are not the vote's, in its order".into());
        }
        if vm.max_yes != self.max_yes {
            return Err(format!(
                "max_yes: the manifest says {:?}, the rules document {:?}",
                vm.max_yes, self.max_yes
            ));
        }
        if let Some(options) = &self.options
            && &vm.options != options
        {
            return Err("options: the manifest's labels are not the rules document's".into());
        }
        Ok(())
    }
}

/// The rules engine's outcome from decoded counts (per item, in encoding order): the counts
/// in the document's option order and the outcome, exactly as for a plain vote.
pub fn decide_decoded(
    rules: &Rules,
    items: &[String],
    roll: Roll,
    decoded: &[Vec<u64>],
) -> Result<(Vec<Vec<u64>>, Outcome), String> {
    let form = form_for(rules, items.len())?;
    let counts = counts_in_rules_order(&form, rules.options.len(), decoded);
    let c = Counts::new(rules, items.to_vec(), roll, counts.clone()).map_err(|e| e.to_string())?;
    let warnings = rules.check_items(items.len()).unwrap_or_default();
    Ok((counts, super::decide(rules, &c, warnings)))
}

/// The body key naming an encrypted vote's result keys (a v2 bundle from the appliance).
pub const RESULT_FORMAT: &str = "piaojue-result/2";

/// The vote as the secretariat created and ran it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteRecord {
    pub vote_id: String,
    pub title: String,
    pub kind: Kind,
    /// Always `encrypted` here; plain votes have v1 bundles.
    pub mode: String,
    pub items: Vec<String>,
    pub opened_at: String,
    pub closed_at: String,
    /// 应到, 实到, enabled (the roll call's credentials) and cast (n_cast).
    pub roll: Roll,
}

/// Where the result stands in the session's chain of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// SHA-256 of the body of the session's previous result (v1 or v2), if any.
    pub previous_bundle_sha256: Option<String>,
    /// The appliance's audit chain when the result was made.
    pub audit_head: AuditHead,
}

/// The appliance's top-level keys beside §10.1's layout in an encrypted vote's bundle body
/// (docs/e2e.md): the rules document, the counts in its option order, the outcome, the
/// announcement and the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultKeys {
    pub result_format: String,
    pub session: String,
    pub appliance_key: String,
    pub vote_record: VoteRecord,
    pub rules_sha256: String,
    pub rules_document: String,
    pub counts: Vec<Vec<u64>>,
    pub outcome: Value,
    pub announcement: String,
    pub chain: Chain,
    #[serde(default)]
    pub demo: bool,
    /// The secretariat's declaration that the vote failed before its decryption: then the
    /// vote has no result, `counts` is empty, `outcome` null and the announcement says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Failed>,
    /// Re-vote, run-off or 测评 source (docs/procedures.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<crate::procedure::Procedure>,
}

/// Why and when an encrypted vote was declared failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failed {
    pub reason: String,
    pub declared_at: String,
}

/// The most characters of a failure's reason.
pub const MAX_FAILED_REASON_CHARS: usize = 500;

/// The announcement of a vote declared failed (the hall screen's and the bundle's words).
pub fn failed_announcement(title: &str, reason: &str) -> String {
    format!(
        "{title}：因技术原因未能完成解密计票，秘书处宣告本次表决失败（原因：{reason}）。本次表决不产生结果，所投选票不予计数。"
    )
}

impl ResultKeys {
    /// The `rules` check: the document is the one hashed, the vote manifest is the form the
    /// document makes of the vote's items, the roll is the roll call's, and the rules engine
    /// re-run on the decoded counts gives the published counts, outcome and announcement.
    pub fn check(
        &self,
        vm: &VoteManifest,
        appliance_key: &[u8; 32],
        decoded: Option<&[Vec<u64>]>,
        enabled: u64,
        n_cast: u64,
    ) -> Result<String, String> {
        if self.result_format != RESULT_FORMAT {
            return Err(format!("result_format: not {RESULT_FORMAT}"));
        }
        if self.appliance_key != crate::e2e::hex::encode(appliance_key) {
            return Err("appliance_key: not the session manifest's appliance key".into());
        }
        if crate::crypto::sha256_hex(self.rules_document.as_bytes()) != self.rules_sha256 {
            return Err("rules_sha256: not the SHA-256 of rules_document".into());
        }
        let document = Rules::from_json(self.rules_document.as_bytes())
            .map_err(|e| format!("rules_document: {e}"))?;
        let r = &self.vote_record;
        if let Some(p) = &self.procedure {
            if p.manual.is_some() {
                return Err("procedure.manual: a manual count has a plain bundle".into());
            }
            p.check_shape(&document, &r.vote_id, r.items.len())?;
        }
        let rules = crate::procedure::effective_rules(self.procedure.as_ref(), &document)?;
        if r.kind != rules.kind {
            return Err("vote_record.kind: not the rules document's kind".into());
        }
        if r.mode != "encrypted" {
            return Err("vote_record.mode: an encrypted vote's bundle says `encrypted`".into());
        }
        if r.vote_id != vm.vote_id {
            return Err("vote_record.vote_id: not the vote manifest's".into());
        }
        form_for(&rules, r.items.len())
            .and_then(|f| f.check_manifest(vm, &r.items))
            .map_err(|e| format!("vote manifest: {e}"))?;
        if r.roll.enabled != Some(enabled) {
            return Err(format!(
                "vote_record.roll.enabled: the roll call enables {enabled}"
            ));
        }
        if r.roll.cast != Some(n_cast) {
            return Err(format!("vote_record.roll.cast: n_cast is {n_cast}"));
        }
        let decoded = match (&self.failed, decoded) {
            (Some(f), None) => {
                let n = f.reason.chars().count();
                if f.reason.trim().is_empty() || n > MAX_FAILED_REASON_CHARS {
                    return Err(format!(
                        "failed.reason: 1 to {MAX_FAILED_REASON_CHARS} characters"
                    ));
                }
                if !self.counts.is_empty() {
                    return Err("counts: a vote declared failed has none".into());
                }
                if !self.outcome.is_null() {
                    return Err("outcome: a vote declared failed has none".into());
                }
                if self.announcement != failed_announcement(&r.title, &f.reason) {
                    return Err(
                        "announcement: not the declaration of a failed vote with its reason".into(),
                    );
                }
                return Ok(format!(
                    "the vote was declared failed before its decryption ({}): no counts, no outcome",
                    f.reason
                ));
            }
            (None, Some(d)) => d,
            (Some(_), Some(_)) => {
                return Err("failed: the vote is declared failed but carries a result".into());
            }
            (None, None) => return Err("the vote has no result and is not declared failed".into()),
        };
        let (counts, outcome) = decide_decoded(&rules, &r.items, r.roll, decoded)
            .map_err(|e| format!("decoded counts: {e}"))?;
        if counts != self.counts {
            return Err("counts: not the decoded counts in the document's option order".into());
        }
        let redone = serde_json::to_value(&outcome).map_err(|e| e.to_string())?;
        if redone != self.outcome {
            return Err("outcome: the rules engine decides otherwise from these counts".into());
        }
        if outcome.announcement != self.announcement {
            return Err("announcement: not the text the rules engine makes".into());
        }
        Ok(format!(
            "the rules document ({}) re-decided from the decoded counts gives the published outcome",
            &self.rules_sha256[..16]
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(name: &str) -> Rules {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../firmware-config/rules")
            .join(format!("{name}.json"));
        Rules::from_json(&std::fs::read(path).expect("rules")).expect("valid rules")
    }

    #[test]
    fn the_shipped_rules_documents_map_to_their_encrypted_forms() {
        let m = form_for(&rules("motion"), 1).expect("motion");
        assert_eq!(m.vote_type, VoteType::Motion);
        // 赞成 5, 反对 2, 弃权 1 decoded as [弃权, 反对, 赞成] = [1, 2, 5].
        assert_eq!(
            counts_in_rules_order(&m, 3, &[vec![1, 2, 5]]),
            vec![vec![5, 2, 1]]
        );
        let p = form_for(&rules("project-selection"), 7).expect("票决");
        assert_eq!((p.vote_type, p.max_yes), (VoteType::PerItem, Some(5)));
        assert_eq!(
            counts_in_rules_order(&p, 3, &[vec![0, 3, 9]]),
            vec![vec![9, 3, 0]]
        );
        let s = form_for(&rules("satisfaction"), 5).expect("测评");
        assert_eq!(s.vote_type, VoteType::Satisfaction);
        assert_eq!(s.options.as_deref().map(<[String]>::len), Some(3));
        assert_eq!(
            counts_in_rules_order(&s, 3, &[vec![4, 2, 1]]),
            vec![vec![4, 2, 1]]
        );
    }

    #[test]
    fn what_the_encrypted_form_cannot_carry_is_refused_with_why() {
        let e = form_for(&rules("motion"), 2).expect_err("two motions");
        assert!(e.contains("一项议案"), "{e}");
        let mut five = rules("satisfaction");
        five.options
            .extend(["较满意".to_string(), "很不满意".to_string()]);
        let e = form_for(&five, 3).expect_err("five options");
        assert!(e.contains("3或4个等次") && e.contains("5"), "{e}");
    }

    #[test]
    fn relabelled_yes_and_no_are_refused_for_the_encrypted_form() {
        // The booth shows 赞成 / 反对 / 弃权 by the encoding; a document listing 反对 first
        // would count the deputy's 赞成 as its 反对.
        for (name, items) in [("motion", 1), ("project-selection", 7)] {
            let mut swapped = rules(name);
            swapped.options.swap(0, 1);
            let e = form_for(&swapped, items).expect_err("swapped yes and no");
            assert!(e.contains("exactly 赞成"), "{e}");
            let mut other = rules(name);
            other.options[0] = "同意".into();
            assert!(form_for(&other, items).is_err(), "{name}: another yes word");
        }
        let mut motion = rules("motion");
        motion.options[1] = "不赞成".into();
        assert!(form_for(&motion, 1).is_ok(), "不赞成 is a no");
    }

    #[test]
    fn an_encrypted_vote_takes_at_most_64_items() {
        let p = rules("project-selection");
        assert!(form_for(&p, MAX_ENCRYPTED_ITEMS).is_ok());
        let e = form_for(&p, MAX_ENCRYPTED_ITEMS + 1).expect_err("65 items");
        assert!(e.contains("最多64项") && e.contains("65"), "{e}");
    }
}
