//! Ballots: the signed ballot definition a tablet shows, the cast a tablet sends, how a cast
//! is checked against the rules, how ballots become counts, and the signed receipt.
//!
//! Owns: the formats `piaojue-ballot/1` and `piaojue-receipt/1` (documented in docs/api.md).
//! Invariant: a stored ballot is only its choices: no deputy, token, time or order.

use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::refusal::Refusal;
use crate::rules::{Form, Kind, KindRules, Rules};

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
    /// The scrutineers (and their keys) in force when the vote opened.
    #[serde(default)]
    pub scrutineers: Vec<crate::bundle::PinnedScrutineer>,
}

pub const BALLOT_FORMAT: &str = "piaojue-ballot/1";
pub const RECEIPT_FORMAT: &str = "piaojue-receipt/1";

impl BallotDefinition {
    /// The definition of vote `vote_id` (`title`, `items`) under `rules` (adopted as
    /// `rules_sha256`), opened at `opened_at`.
    pub fn new(
        session: &str,
        appliance_key: &str,
        (vote_id, title, items): (&str, &str, &[String]),
        (rules, rules_sha256): (&Rules, &str),
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
            vote_id: vote_id.into(),
            title: title.into(),
            kind: rules.kind,
            items: items.to_vec(),
            options: rules.options.clone(),
            form,
            max_yes,
            secret: rules.secret,
            rules_title: rules.title.clone(),
            rules_sha256: rules_sha256.into(),
            opened_at: opened_at.into(),
            scrutineers: Vec::new(),
        }
    }

    /// The scrutineers signed into the vote with its ballot.
    pub fn with_scrutineers(mut self, scrutineers: Vec<crate::bundle::PinnedScrutineer>) -> Self {
        self.scrutineers = scrutineers;
        self
    }

    /// The exact bytes that are signed and served.
    pub fn body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
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
) -> Result<Vec<u8>, Refusal> {
    if cast.vote_id != vote_id {
        return Err(Refusal::WrongVote {
            ballot: cast.vote_id.clone(),
            vote: vote_id.into(),
        });
    }
    if crypto::unhex::<16>(&cast.ballot_id).is_none() {
        return Err(Refusal::BadBallotId);
    }
    check_choices(rules, items, &cast.choices)?;
    Ok(cast.choices.clone())
}

/// Is this a well-formed ballot for the rules: one valid choice per item, no more 赞成 than
/// `max_yes`? Shared by the appliance (on cast) and the verifier (on every published ballot).
pub fn check_choices(rules: &Rules, items: &[String], choices: &[u8]) -> Result<(), Refusal> {
    if choices.len() != items.len() {
        return Err(Refusal::WrongItemCount {
            items: items.len(),
            filled: choices.len(),
        });
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
            return Err(Refusal::UnknownOption {
                number: i + 1,
                item: items[i].clone(),
            });
        }
    }
    if let KindRules::ProjectSelection { max_yes, .. } = rules.params {
        let yes = choices
            .iter()
            .filter(|&&c| usize::from(c) == Rules::YES)
            .count();
        if yes > max_yes as usize {
            return Err(Refusal::TooManyYes {
                max: max_yes,
                yes,
                yes_word: rules.options[Rules::YES].clone(),
            });
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
    /// The exact bytes that are signed and kept by the tablet.
    pub fn body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
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
        let refused = |c: &CastRequest, vote: &str| check_cast(&r, &items, vote, c).unwrap_err();
        assert!(matches!(
            refused(&cast(vec![0, 0, 0]), "v1"),
            Refusal::TooManyYes { max: 2, yes: 3, .. }
        ));
        assert!(matches!(
            refused(&cast(vec![0, 0]), "v1"),
            Refusal::WrongItemCount {
                items: 3,
                filled: 2
            }
        ));
        assert!(matches!(
            refused(&cast(vec![0, 3, 1]), "v1"),
            Refusal::UnknownOption { number: 2, .. }
        ));
        assert!(matches!(
            refused(&cast(vec![0, 1, 1]), "v2"),
            Refusal::WrongVote { .. }
        ));
        let mut bad = cast(vec![0, 1, 1]);
        bad.ballot_id = "xyz".into();
        assert_eq!(refused(&bad, "v1"), Refusal::BadBallotId);
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
