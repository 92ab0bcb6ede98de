//! From counts to an outcome: quorum, majority, ranking and ties, shortfall, rates and tiers.
//!
//! [`Counts::new`] refuses every count that could not come from a real vote (more ballots
//! than deputies able to vote, more 赞成 than `max_yes` allows…), so [`decide`] is total:
//! it never fails and never panics on what `Counts` lets through.

use serde::{Deserialize, Serialize};

use super::RulesError;
use super::announce;
use super::document::{
    BASICALLY_SATISFIED, DISSATISFIED, Kind, KindRules, Majority, MajorityBase, Metric, Rules,
    SATISFIED, TieRule, TierBase,
};

/// The largest roll accepted: far above the NPC's 2,977 seats, far below any overflow.
pub const MAX_SEATED: u64 = 100_000;
/// The most items (candidates, motions, 测评 items) in one vote.
pub const MAX_ITEMS: usize = 500;
const MAX_ITEM_CHARS: usize = 200;

/// Who could vote: 应到, 实到 and those enabled when the vote opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roll {
    /// 应到: deputies holding a seat.
    pub seated: u64,
    /// 实到: deputies checked in when the vote opened.
    pub present: u64,
    /// Deputies able to vote when it opened (`enabled_at_open`); defaults to `present`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<u64>,
    /// Ballots cast, when known; bounds every item's count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cast: Option<u64>,
}

impl Roll {
    pub fn enabled(&self) -> u64 {
        self.enabled.unwrap_or(self.present)
    }

    fn check(&self) -> Result<(), RulesError> {
        let e = |f: &str, m: String| Err(RulesError::new(format!("roll.{f}"), m));
        if self.seated == 0 {
            return e("seated", "must be at least 1".into());
        }
        if self.seated > MAX_SEATED {
            return e("seated", format!("{} is above {MAX_SEATED}", self.seated));
        }
        if self.present > self.seated {
            return e(
                "present",
                format!("{} present but only {} seated", self.present, self.seated),
            );
        }
        if self.enabled() > self.present {
            return e(
                "enabled",
                format!(
                    "{} able to vote but only {} present",
                    self.enabled(),
                    self.present
                ),
            );
        }
        if let Some(cast) = self.cast
            && cast > self.enabled()
        {
            return e(
                "cast",
                format!(
                    "{cast} ballots cast but only {} deputies could vote",
                    self.enabled()
                ),
            );
        }
        Ok(())
    }
}

/// Items and their counts, checked against the rules and the roll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    items: Vec<String>,
    roll: Roll,
    /// `counts[i][j]`: ballots choosing `options[j]` on item `i`.
    counts: Vec<Vec<u64>>,
}

impl Counts {
    /// Checks items, roll and counts for `rules`; the error names the field as the tally
    /// input does (`items[3]`, `roll.present`, `counts[2]`).
    pub fn new(
        rules: &Rules,
        items: Vec<String>,
        roll: Roll,
        counts: Vec<Vec<u64>>,
    ) -> Result<Counts, RulesError> {
        let e = |f: String, m: String| RulesError::new(f, m);
        if items.is_empty() {
            return Err(e(
                "items".into(),
                "is empty: a vote needs at least one item".into(),
            ));
        }
        if items.len() > MAX_ITEMS {
            return Err(e(
                "items".into(),
                format!("{} items; at most {MAX_ITEMS}", items.len()),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            if item.trim().is_empty() {
                return Err(e(format!("items[{i}]"), "is empty".into()));
            }
            if item.chars().count() > MAX_ITEM_CHARS {
                return Err(e(
                    format!("items[{i}]"),
                    format!("longer than {MAX_ITEM_CHARS} characters"),
                ));
            }
            if item.chars().any(char::is_control) {
                return Err(e(format!("items[{i}]"), "holds a control character".into()));
            }
            if let Some(first) = items[..i].iter().position(|x| x == item) {
                return Err(e(
                    format!("items[{i}]"),
                    format!("`{item}` is the same as items[{first}]"),
                ));
            }
        }
        roll.check()?;
        if counts.len() != items.len() {
            return Err(e(
                "counts".into(),
                format!("{} rows for {} items", counts.len(), items.len()),
            ));
        }
        let limit = roll.cast.unwrap_or(roll.enabled());
        let options = rules.options.len();
        for (i, row) in counts.iter().enumerate() {
            if row.len() != options {
                return Err(e(
                    format!("counts[{i}]"),
                    format!(
                        "{} numbers but the rules have {options} options ({})",
                        row.len(),
                        rules.options.join("/")
                    ),
                ));
            }
            for (j, &n) in row.iter().enumerate() {
                if n > roll.enabled() {
                    return Err(e(
                        format!("counts[{i}][{j}]"),
                        format!(
                            "{n} ballots for {} but only {} deputies could vote",
                            rules.options[j],
                            roll.enabled()
                        ),
                    ));
                }
            }
            let sum: u64 = row.iter().sum();
            if sum > limit {
                let who = if roll.cast.is_some() {
                    format!("only {limit} ballots were cast")
                } else {
                    format!("only {limit} deputies could vote")
                };
                return Err(e(
                    format!("counts[{i}]"),
                    format!("{sum} ballots counted but {who}"),
                ));
            }
        }
        if let KindRules::ProjectSelection { max_yes, .. } = rules.params {
            let yes: u64 = counts.iter().map(|row| row[Rules::YES]).sum();
            // Both forms put one choice per candidate on a ballot: at most `limit` ballots
            // exist and each holds at most `max_yes` yes.
            let ballots = limit;
            let allowed = u64::from(max_yes) * ballots;
            if yes > allowed {
                return Err(e(
                    "counts".into(),
                    format!(
                        "{yes} {} in all but {ballots} ballots of at most {max_yes} each allow only {allowed}",
                        rules.options[Rules::YES]
                    ),
                ));
            }
        }
        Ok(Counts {
            items,
            roll,
            counts,
        })
    }

    pub fn items(&self) -> &[String] {
        &self.items
    }
    pub fn roll(&self) -> Roll {
        self.roll
    }
    pub fn rows(&self) -> &[Vec<u64>] {
        &self.counts
    }
}

/// A tier of a 测评 item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    #[serde(rename = "满意")]
    Satisfied,
    #[serde(rename = "基本满意")]
    BasicallySatisfied,
    #[serde(rename = "不满意")]
    Dissatisfied,
}

impl Tier {
    pub fn name_zh(self) -> &'static str {
        match self {
            Tier::Satisfied => SATISFIED,
            Tier::BasicallySatisfied => BASICALLY_SATISFIED,
            Tier::Dissatisfied => DISSATISFIED,
        }
    }
}

/// The four rates over valid responses, each in [0, 1] (0 when there is no valid response).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    #[serde(rename = "满意率")]
    pub satisfied: f64,
    #[serde(rename = "基本满意率")]
    pub basically_satisfied: f64,
    #[serde(rename = "综合满意率")]
    pub overall: f64,
    #[serde(rename = "不满意率")]
    pub dissatisfied: f64,
}

/// What the rules decided for one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ItemDecision {
    Motion {
        passed: bool,
    },
    ProjectSelection {
        meets_majority: bool,
        /// Among the candidates meeting the majority, 1 = most yes; equal yes share a rank.
        rank: Option<u32>,
        selected: bool,
        /// In the tie at the cut, its seat still pending.
        tied: bool,
    },
    Satisfaction {
        valid: u64,
        rates: Rates,
        /// `null` only when the tier base is zero (no valid response under `base: valid`).
        tier: Option<Tier>,
        followup: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemOutcome {
    pub item: String,
    /// Option name → ballots, in the rules' option order.
    #[serde(serialize_with = "serialize_counts")]
    pub counts: Vec<(String, u64)>,
    /// 未按: able to vote, chose nothing on this item.
    pub not_voted: u64,
    /// The majority's base and the least yes that meets it, for motions and 票决.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub majority_required: Option<u64>,
    #[serde(flatten)]
    pub decision: ItemDecision,
}

fn serialize_counts<S: serde::Serializer>(
    counts: &[(String, u64)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(counts.len()))?;
    for (k, v) in counts {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// Candidates tied across the cut and the seats they contend for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tie {
    pub items: Vec<String>,
    pub seats: u32,
    /// Their common yes count.
    pub votes: u64,
}

/// What the rules decided for the whole vote.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum VoteDecision {
    Motion {
        /// Every item passed.
        passed: bool,
    },
    ProjectSelection {
        /// Adopted items in rank order.
        selected: Vec<String>,
        tie: Option<Tie>,
        /// Seats not filled: `select_n − |selected| − tie.seats` (never below 0).
        shortfall: u32,
    },
    Satisfaction {},
}

/// The whole outcome: what `piaojue tally` prints and what a result bundle records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub kind: Kind,
    pub roll: Roll,
    pub quorum_met: bool,
    /// The least 实到 that meets the quorum.
    pub quorum_required: u64,
    pub items: Vec<ItemOutcome>,
    #[serde(flatten)]
    pub decision: VoteDecision,
    /// The text read out in the hall.
    pub announcement: String,
    pub warnings: Vec<String>,
}

/// Decides the outcome of a vote from its counts. Pure and total.
pub fn decide(rules: &Rules, counts: &Counts, warnings: Vec<String>) -> Outcome {
    let roll = counts.roll;
    let enabled = roll.enabled();
    let quorum_met = rules.quorum.reached(roll.present, roll.seated);
    let quorum_required = rules.quorum.minimum(roll.seated);

    let mut items: Vec<ItemOutcome> = counts
        .items
        .iter()
        .zip(&counts.counts)
        .map(|(item, row)| {
            let cast: u64 = row.iter().sum();
            ItemOutcome {
                item: item.clone(),
                counts: rules
                    .options
                    .iter()
                    .cloned()
                    .zip(row.iter().copied())
                    .collect(),
                not_voted: enabled - cast,
                majority_required: None,
                decision: ItemDecision::Motion { passed: false },
            }
        })
        .collect();

    let decision = match &rules.params {
        KindRules::Motion { majority } => {
            for (out, row) in items.iter_mut().zip(&counts.counts) {
                let base = majority_base(rules, majority, roll, row);
                out.majority_required = Some(majority.fraction.minimum(base));
                out.decision = ItemDecision::Motion {
                    passed: quorum_met && majority.fraction.reached(row[Rules::YES], base),
                };
            }
            let passed = items
                .iter()
                .all(|i| matches!(i.decision, ItemDecision::Motion { passed: true }));
            VoteDecision::Motion { passed }
        }
        KindRules::ProjectSelection {
            majority,
            select_n,
            tie_rule,
            ..
        } => {
            let meets: Vec<bool> = counts
                .counts
                .iter()
                .map(|row| {
                    let base = majority_base(rules, majority, roll, row);
                    majority.fraction.reached(row[Rules::YES], base)
                })
                .collect();
            for (out, row) in items.iter_mut().zip(&counts.counts) {
                let base = majority_base(rules, majority, roll, row);
                out.majority_required = Some(majority.fraction.minimum(base));
            }
            let yes: Vec<u64> = counts.counts.iter().map(|row| row[Rules::YES]).collect();
            let pick = select(&yes, &meets, *select_n, *tie_rule, quorum_met);
            for (i, out) in items.iter_mut().enumerate() {
                out.decision = ItemDecision::ProjectSelection {
                    meets_majority: meets[i],
                    rank: pick.rank[i],
                    selected: pick.selected.contains(&i),
                    tied: pick.tied.contains(&i),
                };
            }
            let name = |i: &usize| counts.items[*i].clone();
            let tie = (!pick.tied.is_empty()).then(|| Tie {
                items: pick.tied.iter().map(name).collect(),
                seats: pick.tie_seats,
                votes: yes[pick.tied[0]],
            });
            let filled = pick.selected.len() as u32 + pick.tie_seats;
            VoteDecision::ProjectSelection {
                selected: pick.selected.iter().map(name).collect(),
                tie,
                shortfall: select_n.saturating_sub(filled),
            }
        }
        KindRules::Satisfaction {
            tiers,
            valid_options,
            followup,
        } => {
            let at = |name: &str| rules.options.iter().position(|o| o == name);
            // Rules::from_raw guarantees the three options exist.
            let (s_at, b_at, d_at) = (
                at(SATISFIED).unwrap_or(0),
                at(BASICALLY_SATISFIED).unwrap_or(0),
                at(DISSATISFIED).unwrap_or(0),
            );
            for (out, row) in items.iter_mut().zip(&counts.counts) {
                let valid: u64 = valid_options.iter().map(|&j| row[j]).sum();
                let (s, b, d) = (row[s_at], row[b_at], row[d_at]);
                let rate = |n: u64| {
                    if valid == 0 {
                        0.0
                    } else {
                        n as f64 / valid as f64
                    }
                };
                let t = match tiers.base {
                    TierBase::Seated => roll.seated,
                    TierBase::Present => roll.present,
                    TierBase::Valid => valid,
                };
                let tier = if !quorum_met || t == 0 {
                    None
                } else if tiers.reaches_half(s, t) {
                    Some(Tier::Satisfied)
                } else if tiers.reaches_half(s + b, t) {
                    Some(Tier::BasicallySatisfied)
                } else {
                    Some(Tier::Dissatisfied)
                };
                let labels = followup
                    .iter()
                    .filter(|f| {
                        let part = match f.metric {
                            Metric::Satisfied => s,
                            Metric::BasicallySatisfied => b,
                            Metric::Overall => s + b,
                            Metric::Dissatisfied => d,
                        };
                        f.triggered(part, valid)
                    })
                    .map(|f| f.label.clone())
                    .fold(Vec::new(), |mut acc, l| {
                        if !acc.contains(&l) {
                            acc.push(l);
                        }
                        acc
                    });
                out.decision = ItemDecision::Satisfaction {
                    valid,
                    rates: Rates {
                        satisfied: rate(s),
                        basically_satisfied: rate(b),
                        overall: rate(s + b),
                        dissatisfied: rate(d),
                    },
                    tier,
                    followup: labels,
                };
            }
            VoteDecision::Satisfaction {}
        }
    };

    let mut outcome = Outcome {
        kind: rules.kind,
        roll,
        quorum_met,
        quorum_required,
        items,
        decision,
        announcement: String::new(),
        warnings,
    };
    outcome.announcement = announce::announcement(rules, &outcome);
    outcome
}

/// The number the majority fraction is taken of, for one item.
fn majority_base(rules: &Rules, majority: &Majority, roll: Roll, row: &[u64]) -> u64 {
    let cast: u64 = row.iter().sum();
    match majority.base {
        MajorityBase::Seated => roll.seated,
        MajorityBase::Present => roll.present,
        MajorityBase::Enabled => roll.enabled(),
        MajorityBase::Cast => cast,
        MajorityBase::CastExcludingAbstain => cast - rules.abstain_index().map_or(0, |a| row[a]),
    }
}

/// The 票决 decision over item indices.
struct Pick {
    rank: Vec<Option<u32>>,
    selected: Vec<usize>,
    tied: Vec<usize>,
    tie_seats: u32,
}

/// Ranks the candidates meeting the majority by yes (competition ranking: 1, 2, 2, 4) and
/// fills `select_n` seats from the top. A group of equal yes that straddles the cut is a
/// tie: `include_all_tied` adopts it whole, the other rules leave its seats pending.
fn select(yes: &[u64], meets: &[bool], select_n: u32, tie_rule: TieRule, quorum_met: bool) -> Pick {
    let mut eligible: Vec<usize> = (0..yes.len()).filter(|&i| meets[i]).collect();
    // Stable: equal yes keep input order, so the report lists them as the candidates were listed.
    eligible.sort_by(|&a, &b| yes[b].cmp(&yes[a]));
    let mut rank = vec![None; yes.len()];
    for (pos, &i) in eligible.iter().enumerate() {
        let first_equal = eligible[..pos]
            .iter()
            .position(|&j| yes[j] == yes[i])
            .unwrap_or(pos);
        rank[i] = Some(first_equal as u32 + 1);
    }
    let n = select_n as usize;
    if !quorum_met {
        return Pick {
            rank: vec![None; yes.len()],
            selected: Vec::new(),
            tied: Vec::new(),
            tie_seats: 0,
        };
    }
    if eligible.len() <= n {
        return Pick {
            rank,
            selected: eligible,
            tied: Vec::new(),
            tie_seats: 0,
        };
    }
    let cut = yes[eligible[n - 1]];
    if yes[eligible[n]] < cut {
        eligible.truncate(n);
        return Pick {
            rank,
            selected: eligible,
            tied: Vec::new(),
            tie_seats: 0,
        };
    }
    let above: Vec<usize> = eligible.iter().copied().filter(|&i| yes[i] > cut).collect();
    let tied: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| yes[i] == cut)
        .collect();
    match tie_rule {
        TieRule::IncludeAllTied => Pick {
            rank,
            selected: above.into_iter().chain(tied).collect(),
            tied: Vec::new(),
            tie_seats: 0,
        },
        TieRule::RevoteTied | TieRule::ChairDecides => Pick {
            rank,
            tie_seats: (n - above.len()) as u32,
            selected: above,
            tied,
        },
    }
}
