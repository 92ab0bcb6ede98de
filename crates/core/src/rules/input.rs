//! The input and output of `piaojue tally` (SPEC §4 "The `tally` command").

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::RulesError;
use super::document::{RawRules, Rules};
use super::tally::{Counts, Outcome, Roll, decide};

/// Cap on a tally input: a 500-item vote with its rules fits in a tenth of it.
pub const MAX_TALLY_INPUT_BYTES: usize = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with rules, items, roll and counts"
)]
struct RawInput {
    rules: RawRules,
    items: Vec<String>,
    roll: Roll,
    counts: Vec<Vec<u64>>,
}

/// Only the rules' exact bytes, for their hash; the rest was checked by [`RawInput`].
#[derive(Debug, Deserialize)]
struct RulesBytes<'a> {
    #[serde(borrow)]
    rules: &'a RawValue,
}

/// A checked tally input: rules, items, roll and counts that agree with each other.
#[derive(Debug, Clone)]
pub struct TallyInput {
    pub rules: Rules,
    /// SHA-256 (hex) of the rules object's bytes exactly as they stand in the input.
    pub rules_sha256: String,
    pub counts: Counts,
    pub warnings: Vec<String>,
}

/// What `piaojue tally` prints: the outcome, and which rules decided it.
#[derive(Debug, Clone, Serialize)]
pub struct TallyReport {
    pub rules_title: String,
    pub rules_sha256: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl TallyInput {
    pub fn parse(bytes: &[u8]) -> Result<TallyInput, RulesError> {
        let raw: RawInput = super::parse_json(bytes, MAX_TALLY_INPUT_BYTES, "tally input")?;
        let rules_bytes: RulesBytes =
            serde_json::from_slice(bytes).map_err(|e| RulesError::new("rules", e.to_string()))?;
        let rules = Rules::from_raw(raw.rules).map_err(|e| e.within("rules"))?;
        let warnings = rules
            .check_items(raw.items.len())
            .map_err(|e| e.within("rules"))?
            .into_iter()
            .map(|w| format!("rules.{w}"))
            .collect();
        let counts = Counts::new(&rules, raw.items, raw.roll, raw.counts)?;
        Ok(TallyInput {
            rules_sha256: crate::crypto::sha256_hex(rules_bytes.rules.get().as_bytes()),
            rules,
            counts,
            warnings,
        })
    }

    pub fn decide(&self) -> TallyReport {
        TallyReport {
            rules_title: self.rules.title.clone(),
            rules_sha256: self.rules_sha256.clone(),
            outcome: decide(&self.rules, &self.counts, self.warnings.clone()),
        }
    }
}
