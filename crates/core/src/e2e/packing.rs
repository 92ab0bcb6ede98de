//! Ballot shapes, radix packing (§6.1) and the range-proof parameters (§6.3).

use curve25519_dalek::scalar::Scalar;

use super::error::{E2eError, Result};
use super::group::scalar_from_i64;

/// Largest radix T allowed (§6.1).
pub const MAX_RADIX: u64 = 1 << 15;

/// The four vote types of §6.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VoteType {
    /// One item, 弃权/反对/赞成.
    Motion,
    /// M items, 弃权/不赞成/赞成, at most N 赞成.
    PerItem,
    /// M candidates, 不选/选, at most N 选.
    ApproveUpToN,
    /// M items with 3 or 4 free labels.
    Satisfaction,
}

impl VoteType {
    /// The ASCII name used in manifests, ballots and the ballot ctx.
    pub fn as_str(self) -> &'static str {
        match self {
            VoteType::Motion => "motion",
            VoteType::PerItem => "per_item",
            VoteType::ApproveUpToN => "approve_up_to_n",
            VoteType::Satisfaction => "satisfaction",
        }
    }

    /// Parses the ASCII name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "motion" => Some(VoteType::Motion),
            "per_item" => Some(VoteType::PerItem),
            "approve_up_to_n" => Some(VoteType::ApproveUpToN),
            "satisfaction" => Some(VoteType::Satisfaction),
            _ => None,
        }
    }

    /// True for the types that carry `max_yes`.
    pub fn has_max_yes(self) -> bool {
        matches!(self, VoteType::PerItem | VoteType::ApproveUpToN)
    }
}

/// Number of bits of n (bitlen(0) = 0).
pub fn bitlen(n: u64) -> usize {
    (64 - n.leading_zeros()) as usize
}

/// Everything the crypto needs from a vote manifest: (type, M, L, N, T).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    vote_type: VoteType,
    m: usize,
    l: usize,
    max_yes: usize,
    radix: u64,
}

/// Public parameters of the §6.3 range proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeParams {
    /// Signed weights w_j, in bit order.
    pub weights: Vec<i64>,
    /// The constant c0.
    pub c0: u64,
    /// by = max(1, bitlen(N)).
    pub by: usize,
    /// bx = bitlen(M) (per_item only; 0 for approve).
    pub bx: usize,
}

impl RangeParams {
    /// Weights as scalars (negative w encoded as ℓ − |w|, §2.4).
    pub fn weight_scalars(&self) -> Vec<Scalar> {
        self.weights.iter().map(|w| scalar_from_i64(*w)).collect()
    }
}

impl Shape {
    /// Validates and builds a shape. `max_yes` is `None` for motion and satisfaction;
    /// it must be `Some` for per_item and approve_up_to_n.
    pub fn new(
        vote_type: VoteType,
        m: u64,
        l: u64,
        max_yes: Option<u64>,
        radix: u64,
    ) -> Result<Self> {
        let bad = |field: &str, reason: &str| E2eError::Range {
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        if !(2..=MAX_RADIX).contains(&radix) || !radix.is_power_of_two() {
            return Err(bad("radix", "T must be a power of two with 2 <= T <= 2^15"));
        }
        if m < 1 || m >= radix {
            return Err(bad("m", "need 1 <= M < T"));
        }
        let l_ok = match vote_type {
            VoteType::Motion | VoteType::PerItem => l == 3,
            VoteType::ApproveUpToN => l == 2,
            VoteType::Satisfaction => l == 3 || l == 4,
        };
        if !l_ok {
            return Err(bad("options", "wrong option count for the type"));
        }
        if vote_type == VoteType::Motion && m != 1 {
            return Err(bad("m", "a motion has exactly one item"));
        }
        let n = match (vote_type.has_max_yes(), max_yes) {
            (true, Some(n)) if n <= m => n,
            (true, Some(_)) => return Err(bad("max_yes", "need 0 <= N <= M")),
            (true, None) => return Err(bad("max_yes", "required for this type")),
            (false, Some(_)) => return Err(bad("max_yes", "not allowed for this type")),
            (false, None) => m,
        };
        // m < 2^15 and l <= 4 by the checks above, so these conversions cannot truncate.
        Ok(Shape {
            vote_type,
            m: m as usize,
            l: l as usize,
            max_yes: n as usize,
            radix,
        })
    }

    /// The vote type.
    pub fn vote_type(&self) -> VoteType {
        self.vote_type
    }
    /// M.
    pub fn m(&self) -> usize {
        self.m
    }
    /// L.
    pub fn l(&self) -> usize {
        self.l
    }
    /// N (= M when unconstrained).
    pub fn max_yes(&self) -> usize {
        self.max_yes
    }
    /// T.
    pub fn radix(&self) -> u64 {
        self.radix
    }

    /// The value set V in encoding order: 0, 1, T, T² (§6.1).
    pub fn values_u64(&self) -> Vec<u64> {
        let t = self.radix;
        let mut v = vec![0u64, 1];
        let mut p = t;
        for _ in 2..self.l {
            v.push(p);
            p = p.saturating_mul(t);
        }
        v
    }

    /// V as scalars.
    pub fn values(&self) -> Vec<Scalar> {
        self.values_u64().into_iter().map(Scalar::from).collect()
    }

    /// max(V), the largest per-ballot item value.
    pub fn max_value(&self) -> u64 {
        self.values_u64().last().copied().unwrap_or(0)
    }

    /// The range parameters, or `None` when the range proof is omitted (N ≥ M or no range type).
    pub fn range(&self) -> Option<RangeParams> {
        if !self.vote_type.has_max_yes() || self.max_yes >= self.m {
            return None;
        }
        let n = self.max_yes as u64;
        let by = bitlen(n).max(1);
        match self.vote_type {
            VoteType::ApproveUpToN => Some(RangeParams {
                weights: (0..by).map(|j| 1i64 << j).collect(),
                c0: n,
                by,
                bx: 0,
            }),
            VoteType::PerItem => {
                let bx = bitlen(self.m as u64);
                let t = self.radix as i64;
                let mut weights: Vec<i64> = (0..by).map(|j| t << j).collect();
                weights.extend((0..bx).map(|j| -(1i64 << j)));
                Some(RangeParams {
                    weights,
                    c0: self.radix * n,
                    by,
                    bx,
                })
            }
            _ => None,
        }
    }

    /// Number of range bits (0 without a range proof).
    pub fn nbits(&self) -> usize {
        self.range().map_or(0, |r| r.weights.len())
    }

    /// Length of the binary ballot record (§7.1); any other length is rejected.
    pub fn record_len(&self) -> usize {
        let nb = self.nbits();
        let link = if nb > 0 { 64 } else { 0 };
        32 + 64 * self.m + 64 * nb + 64 * self.m * self.l + 64 * 2 * nb + link + 64
    }

    /// Checks a choice vector (one option index per item) and returns the values m_i.
    pub fn encode_choices(&self, choices: &[usize]) -> Result<Vec<u64>> {
        if choices.len() != self.m {
            return Err(E2eError::Shape {
                field: "choices".to_owned(),
                reason: format!("expected {} choices, got {}", self.m, choices.len()),
            });
        }
        let vals = self.values_u64();
        choices
            .iter()
            .enumerate()
            .map(|(i, c)| {
                vals.get(*c).copied().ok_or_else(|| E2eError::Range {
                    field: format!("choices[{i}]"),
                    reason: format!("option {c} outside 0..{}", self.l),
                })
            })
            .collect()
    }

    /// The range bits an honest prover encrypts (§6.3), LSB first per group; refuses a
    /// choice vector outside the constraint (§7.5: an honest prover never builds one).
    pub fn range_bits(&self, choices: &[usize]) -> Result<Vec<u8>> {
        let Some(rp) = self.range() else {
            return Ok(Vec::new());
        };
        let n = self.max_yes as u64;
        let over = || E2eError::Range {
            field: "choices".to_owned(),
            reason: format!("more than max_yes = {n} selected"),
        };
        let bits_of = |v: u64, count: usize| (0..count).map(move |j| ((v >> j) & 1) as u8);
        match self.vote_type {
            VoteType::ApproveUpToN => {
                let s = choices.iter().filter(|c| **c == 1).count() as u64;
                let d = n.checked_sub(s).ok_or_else(over)?;
                Ok(bits_of(d, rp.by).collect())
            }
            VoteType::PerItem => {
                let y = choices.iter().filter(|c| **c == 2).count() as u64;
                let x = choices.iter().filter(|c| **c == 1).count() as u64;
                let u = n.checked_sub(y).ok_or_else(over)?;
                let mut b: Vec<u8> = bits_of(u, rp.by).collect();
                b.extend(bits_of(x, rp.bx));
                Ok(b)
            }
            _ => Ok(Vec::new()),
        }
    }
}
