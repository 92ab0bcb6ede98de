//! Ballots: the signed ballot definition a tablet shows, the cast a tablet sends, how a cast
//! is checked against the rules, how ballots become counts, and the signed receipt.
//!
//! Owns: the formats `piaojue-ballot/1` and `piaojue-receipt/1` (documented in docs/api.md).
//! Invariant: a stored ballot is only its choices: no deputy, token, time or order.

use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::rules::{Form, Kind, KindRules, Rules};
use crate::session::{DomainError, Vote};

/// The body of a signed ballot definition. Field order is fixed by this struct; the bytes
/// are produced once when the vote opens, stored, signed and served as they are.
#[derive(Debug, Serialize, Deserialize)]
pub struct BallotDefinition {
    pub format: String,
    pub session: String,
    pub appliance_key: String,
    pub vote_id: String,
    pub title: String,
    pub kind: Kind,
    pub items: Vec<String>,
    pub options: Vec<String>,
    /// For 票决: `per_item` or `approve_up_to_n`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<Form>,
    /// For 票决: the most 赞成 one ballot may hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_yes: Option<u32>,
    pub secret: bool,
    pub rules_title: String,
    pub rules_sha256: String,
    pub opened_at: String,
}

pub const BALLOT_FORMAT: &str = "piaojue-ballot/1";
pub const RECEIPT_FORMAT: &str = "piaojue-receipt/1";

impl BallotDefinition {
    pub fn new(
        session: &str,
        appliance_key: &str,
        vote: &Vote,
        rules: &Rules,
        opened_at: &str,
    ) -> BallotDefinition {
        let (form, max_yes) = match rules.params {
            KindRules::ProjectSelection { form, max_yes, .. } => (Some(form), Some(max_yes)),
            _ => (None, None),
        };
        BallotDefinition {
            format: BALLOT_FORMAT.into(),
            session: session.into(),
            appliance_key: appliance_key.into(),
            vote_id: vote.id.clone(),
            title: vote.title.clone(),
            kind: rules.kind,
            items: vote.items.clone(),
            options: rules.options.clone(),
            form,
            max_yes,
            secret: rules.secret,
            rules_title: rules.title.clone(),
            rules_sha256: vote.rules_sha256.clone(),
            opened_at: opened_at.into(),
        }
    }

    pub fn body(&self) -> String {
        // Serialising a plain struct of strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a tablet sends to cast. `choices[i]` is the index into `options` chosen on item `i`
/// (for `approve_up_to_n`: 0 ticked, 1 not ticked).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CastRequest {
    pub vote_id: String,
    /// 32 hex digits the tablet draws at random; a retry sends the same one.
    pub ballot_id: String,
    pub choices: Vec<u8>,
}

/// Checks a cast against the vote's rules; returns the choices to store.
pub fn check_cast(
    rules: &Rules,
    items: &[String],
    vote_id: &str,
    cast: &CastRequest,
) -> Result<Vec<u8>, DomainError> {
    if cast.vote_id != vote_id {
        return Err(DomainError::invalid(
            "wrong_vote",
            format!("选票属于表决 {}，不是当前表决 {vote_id}", cast.vote_id),
        ));
    }
    if crypto::unhex::<16>(&cast.ballot_id).is_none() {
        return Err(DomainError::invalid(
            "bad_ballot_id",
            "ballot_id 应为32位十六进制数",
        ));
    }
    check_choices(rules, items, &cast.choices)?;
    Ok(cast.choices.clone())
}

/// Is this a well-formed ballot for the rules: one valid choice per item, no more 赞成 than
/// `max_yes`? Shared by the appliance (on cast) and the verifier (on every published ballot).
pub fn check_choices(rules: &Rules, items: &[String], choices: &[u8]) -> Result<(), DomainError> {
    if choices.len() != items.len() {
        return Err(DomainError::invalid(
            "wrong_item_count",
            format!("本次表决共{}项，选票填写了{}项", items.len(), choices.len()),
        ));
    }
    let approve = matches!(
        rules.params,
        KindRules::ProjectSelection {
            form: Form::ApproveUpToN,
            ..
        }
    );
    let allowed = if approve { 2 } else { rules.options.len() };
    for (i, &c) in choices.iter().enumerate() {
        if usize::from(c) >= allowed {
            return Err(DomainError::invalid(
                "unknown_option",
                format!("第{}项「{}」的选择无效", i + 1, items[i]),
            ));
        }
    }
    if let KindRules::ProjectSelection { max_yes, .. } = rules.params {
        let yes = choices
            .iter()
            .filter(|&&c| usize::from(c) == Rules::YES)
            .count();
        if yes > max_yes as usize {
            return Err(DomainError::invalid(
                "too_many_yes",
                format!(
                    "最多只能对{max_yes}个项目投{}票，选票中有{yes}个",
                    rules.options[Rules::YES]
                ),
            ));
        }
    }
    Ok(())
}

/// Counts stored ballots: `counts[i][j]` ballots chose option `j` on item `i`.
pub fn count(options: usize, items: usize, ballots: &[Vec<u8>]) -> Vec<Vec<u64>> {
    let mut counts = vec![vec![0u64; options]; items];
    for ballot in ballots {
        for (i, &c) in ballot.iter().enumerate().take(items) {
            if let Some(n) = counts[i].get_mut(usize::from(c)) {
                *n += 1;
            }
        }
    }
    counts
}

/// A random valid ballot (for the demo's simulated deputies and the load test): yes is
/// chosen no more than `max_yes` times.
pub fn random_choices(rules: &Rules, items: usize) -> Result<Vec<u8>, crypto::CryptoError> {
    let approve = matches!(
        rules.params,
        KindRules::ProjectSelection {
            form: Form::ApproveUpToN,
            ..
        }
    );
    let options = if approve { 2 } else { rules.options.len() } as u8;
    let max_yes = match rules.params {
        KindRules::ProjectSelection { max_yes, .. } => max_yes as usize,
        _ => items,
    };
    let random = crypto::random::<64>()?;
    let mut yes = 0;
    let mut choices = Vec::with_capacity(items);
    for i in 0..items {
        // Lean towards yes so demo results look like real ones.
        let r = random[i % 64] ^ (i as u8).wrapping_mul(31);
        let mut c = if r.is_multiple_of(3) {
            (r / 3) % options
        } else {
            0
        };
        if usize::from(c) == Rules::YES && options > 1 {
            if yes >= max_yes {
                c = 1 + (r % (options - 1));
            } else {
                yes += 1;
            }
        }
        choices.push(c);
    }
    Ok(choices)
}

/// A receipt code: 80 random bits in four groups, `7KQ2-M9XD-4T8P-1RZC`. It is drawn, not
/// derived from the choices, so it reveals nothing about them.
pub fn new_receipt_code() -> Result<String, crypto::CryptoError> {
    let bytes = crypto::random::<10>()?;
    Ok(crypto::grouped(&crypto::base32(&bytes), 4, "-"))
}

/// The body of a signed receipt.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReceiptBody {
    pub format: String,
    pub appliance_key: String,
    pub vote_id: String,
    pub receipt_code: String,
    /// SHA-256 of the ballot definition the tablet was shown (the same for every deputy).
    pub ballot_sha256: String,
}

impl ReceiptBody {
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Rules {
        Rules::from_json(json.as_bytes()).unwrap()
    }

    fn cast(choices: Vec<u8>) -> CastRequest {
        CastRequest {
            vote_id: "v1".into(),
            ballot_id: "00112233445566778899aabbccddeeff".into(),
            choices,
        }
    }

    #[test]
    fn casts_are_checked_against_the_rules() {
        let r = rules(r#"{"kind":"project_selection","select_n":2}"#);
        let items: Vec<String> = ["甲", "乙", "丙"].iter().map(|s| s.to_string()).collect();
        assert!(check_cast(&r, &items, "v1", &cast(vec![0, 0, 1])).is_ok());
        assert_eq!(
            check_cast(&r, &items, "v1", &cast(vec![0, 0, 0]))
                .unwrap_err()
                .code,
            "too_many_yes"
        );
        assert_eq!(
            check_cast(&r, &items, "v1", &cast(vec![0, 0]))
                .unwrap_err()
                .code,
            "wrong_item_count"
        );
        assert_eq!(
            check_cast(&r, &items, "v1", &cast(vec![0, 3, 1]))
                .unwrap_err()
                .code,
            "unknown_option"
        );
        assert_eq!(
            check_cast(&r, &items, "v2", &cast(vec![0, 1, 1]))
                .unwrap_err()
                .code,
            "wrong_vote"
        );
        let mut bad = cast(vec![0, 1, 1]);
        bad.ballot_id = "xyz".into();
        assert_eq!(
            check_cast(&r, &items, "v1", &bad).unwrap_err().code,
            "bad_ballot_id"
        );
    }

    #[test]
    fn ballots_count_per_item_and_option() {
        let counts = count(3, 2, &[vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(counts, vec![vec![2, 1, 0], vec![0, 1, 2]]);
    }

    #[test]
    fn receipt_codes_are_grouped_and_distinct() {
        let a = new_receipt_code().unwrap();
        let b = new_receipt_code().unwrap();
        assert_eq!(a.len(), 19);
        assert_ne!(a, b);
    }
}
