//! From a rules document to an encrypted vote's shape and back (issue 15's mapping):
//! motion → `motion`, 票决 `per_item` → `per_item`, `approve_up_to_n` → `approve_up_to_n`,
//! 满意度测评 → `satisfaction` with L = 3 or 4. The encrypted ballot's option labels are fixed
//! by SPEC-E2E §6.4 (except satisfaction's); the rules document's options keep their meaning
//! by position (the first is the yes, then the no, then 弃权), and decoded counts are put back
//! in the document's option order before the rules engine decides.

use super::document::ABSTAIN;
use super::{Form, Kind, KindRules, Rules};
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

/// The encrypted form of a vote with `items` items under `rules`, or why there is none.
pub fn form_for(rules: &Rules, items: usize) -> Result<E2eForm, String> {
    let n = rules.options.len();
    let abstain_last = rules.options.get(2).map(String::as_str) == Some(ABSTAIN);
    match (&rules.kind, &rules.params) {
        (Kind::Motion, _) => {
            if items != 1 {
                return Err(no(&format!(
                    "加密的表决每次只表决一项议案，请为{items}项议案分别建立表决（an encrypted motion has exactly one item, SPEC-E2E §6.4）"
                )));
            }
            if n != 3 || !abstain_last {
                return Err(no(
                    "加密表决的选项固定为赞成、反对、弃权（SPEC-E2E §6.4 fixes a motion's options; the document must offer yes, no, 弃权 in that order）",
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
                    "逐项票决的选项固定为赞成、不赞成、弃权（SPEC-E2E §6.4 fixes per_item's options; the document must offer yes, no, 弃权 in that order）",
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
}
