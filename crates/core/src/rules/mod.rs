//! The rules engine: pure functions from a rules document, a roll and counts to an outcome.
//!
//! Owns: the `piaojue-rules/1` vocabulary ([`Rules`]), the majority and quorum arithmetic
//! ([`Fraction`], integers only), the decision for each vote kind ([`decide`]) and the
//! announcement text. Invariant: no I/O and no clock; the same input gives the same outcome
//! on the appliance, in `piaojue tally` and in the verifier.

mod announce;
mod document;
mod fraction;
mod input;
mod tally;

pub mod encrypted;
pub use document::{
    Boundary, CastPolicy, FORMAT, Followup, Form, Kind, KindRules, MAX_DOCUMENT_BYTES, Majority,
    MajorityBase, Metric, Op, Rules, ShortfallRule, TieRule, TierBase, Tiers,
};
pub use fraction::Fraction;
pub use input::{MAX_TALLY_INPUT_BYTES, TallyInput, TallyReport};
pub use tally::{
    Counts, ItemDecision, ItemOutcome, MAX_ITEMS, MAX_SEATED, Outcome, Rates, Roll, Tie, Tier,
    VoteDecision, decide,
};

/// What is wrong with a rules document or a tally input, and where: `counts[2]: 230 ballots
/// counted but only 225 deputies could vote`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RulesError {
    /// The path of the offending field as written in the input (`rules.majority.den`).
    pub field: String,
    pub message: String,
}

impl RulesError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        RulesError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error one level down: `kind` inside `rules` becomes `rules.kind`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

/// Parses hostile JSON: capped in size, UTF-8 checked, errors naming the field's path.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    max: usize,
    what: &str,
) -> Result<T, RulesError> {
    if bytes.len() > max {
        return Err(RulesError::new(
            "input",
            format!(
                "the {what} is {} bytes; at most {} KiB is accepted",
                bytes.len(),
                max / 1024
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        RulesError::new(
            "input",
            format!(
                "the {what} is not UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(RulesError::new("input", format!("the {what} is empty")));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // A syntax error deep in a value ends the path in `?`; name the last known field.
        let path = e.path().to_string();
        let path = path.trim_end_matches(".?").trim_end_matches('?');
        let field = if path.is_empty() || path == "." {
            "input"
        } else {
            path
        };
        RulesError::new(field, e.into_inner().to_string())
    })?;
    de.end()
        .map_err(|e| RulesError::new("input", format!("trailing data after the JSON: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests;
