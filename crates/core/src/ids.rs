//! Identifiers, parsed once at the edge (a URL, a roster line, a command-line argument) and
//! trusted after: a `VoteId` is always `v` and a number, a `DeputyId` always safe in paths,
//! keys and CSV.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A vote's id as the appliance assigns them: `v1`, `v2`, … (creation order).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VoteId(String);

impl VoteId {
    /// The `n`-th vote of a session.
    pub fn nth(n: u64) -> VoteId {
        VoteId(format!("v{n}"))
    }

    /// `v` and a number without leading zeros; anything else is no vote id.
    pub fn parse(text: &str) -> Option<VoteId> {
        let digits = text.strip_prefix('v')?;
        let canonical = !digits.is_empty()
            && digits.len() <= 19
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        canonical.then(|| VoteId(text.to_string()))
    }

    /// Its number: the order in which votes were created.
    pub fn number(&self) -> u64 {
        self.0[1..].parse().unwrap_or(u64::MAX)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A deputy's id from the roster: 1–32 of `A–Z a–z 0–9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeputyId(String);

impl DeputyId {
    pub fn parse(text: &str) -> Option<DeputyId> {
        let valid = !text.is_empty()
            && text.len() <= 32
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        valid.then(|| DeputyId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A scrutineer's id as the appliance assigns them: `s1`, `s2`, …
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScrutineerId(String);

impl ScrutineerId {
    /// The `n`-th scrutineer named.
    pub fn nth(n: u64) -> ScrutineerId {
        ScrutineerId(format!("s{n}"))
    }

    pub fn parse(text: &str) -> Option<ScrutineerId> {
        let digits = text.strip_prefix('s')?;
        let canonical = !digits.is_empty()
            && digits.len() <= 19
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        canonical.then(|| ScrutineerId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_id {
    ($t:ident, $what:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        /// Read as the text it is (a key, a path segment); only parsing makes one.
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
        impl From<$t> for String {
            fn from(id: $t) -> String {
                id.0
            }
        }
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(text: String) -> Result<$t, String> {
                $t::parse(&text).ok_or_else(|| format!("`{text}` is not {}", $what))
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(text: &str) -> Result<$t, String> {
                $t::parse(text).ok_or_else(|| format!("`{text}` is not {}", $what))
            }
        }
    };
}

text_id!(VoteId, "a vote id (v1, v2, …)");
text_id!(DeputyId, "a deputy id (1–32 letters, digits, _ or -)");
text_id!(ScrutineerId, "a scrutineer id (s1, s2, …)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_parsed_strictly() {
        assert_eq!(VoteId::parse("v12").map(|v| v.number()), Some(12));
        for bad in [
            "",
            "v",
            "v0",
            "v01",
            "V1",
            "v1a",
            "x1",
            "v-1",
            "v99999999999999999999",
        ] {
            assert!(VoteId::parse(bad).is_none(), "{bad}");
        }
        assert!(DeputyId::parse("d0042").is_some());
        assert!(DeputyId::parse("a_b-C9").is_some());
        for bad in ["", "a b", "a,b", "d:1", &"x".repeat(33), "代表"] {
            assert!(DeputyId::parse(bad).is_none(), "{bad}");
        }
        assert!(ScrutineerId::parse("s3").is_some());
        assert!(ScrutineerId::parse("scrutineer:s3").is_none());
        let json = serde_json::to_string(&VoteId::nth(7)).unwrap();
        assert_eq!(json, "\"v7\"");
        assert!(serde_json::from_str::<VoteId>("\"v07\"").is_err());
    }
}
