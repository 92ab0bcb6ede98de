//! The rules document `piaojue-rules/1` (SPEC §4): parsed once into a [`Rules`] value that
//! cannot hold a contradiction (parse, don't validate).
//!
//! Unknown fields are refused: a misspelt `inclusive` silently ignored would change who wins.
//! Fields that exist but do nothing for the document's kind (a `majority` on a 测评) are
//! accepted with a warning, because they change nothing.

use serde::{Deserialize, Serialize};

use super::RulesError;
use super::fraction::Fraction;

/// The only document format this build reads.
pub const FORMAT: &str = "piaojue-rules/1";
/// Cap on a rules document's size (the adopted text included).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
const MAX_OPTIONS: usize = 8;
const MAX_OPTION_CHARS: usize = 16;
const MAX_TITLE_CHARS: usize = 200;
const MAX_TEXT_BYTES: usize = 200 * 1024;
const MAX_FOLLOWUPS: usize = 16;
const MAX_LABEL_CHARS: usize = 32;
const MAX_COSIGNATURES: u32 = 50;

/// What a vote decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 表决: per item 赞成 / 反对 / 弃权, passed iff the yes count meets the majority.
    Motion,
    /// 民生实事项目票决 (差额): candidates meeting the majority, ranked, top `select_n` adopted.
    ProjectSelection,
    /// 满意度测评: per item one option, rates and a tier.
    Satisfaction,
}

impl Kind {
    pub fn name_zh(self) -> &'static str {
        match self {
            Kind::Motion => "表决",
            Kind::ProjectSelection => "民生实事项目票决",
            Kind::Satisfaction => "满意度测评",
        }
    }

    fn default_options(self) -> &'static [&'static str] {
        match self {
            Kind::Motion => &["赞成", "反对", "弃权"],
            Kind::ProjectSelection => &["赞成", "不赞成", "弃权"],
            Kind::Satisfaction => &[SATISFIED, BASICALLY_SATISFIED, DISSATISFIED],
        }
    }
}

pub const SATISFIED: &str = "满意";
pub const BASICALLY_SATISFIED: &str = "基本满意";
pub const DISSATISFIED: &str = "不满意";
/// The option that `cast_excluding_abstain` leaves out of the base.
pub const ABSTAIN: &str = "弃权";

/// What the majority fraction is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MajorityBase {
    /// 全体代表: deputies holding a seat (应到). The statutory default.
    Seated,
    /// 出席代表: deputies checked in when the vote opened (实到).
    Present,
    /// Deputies able to vote when it opened.
    Enabled,
    /// Ballots that chose an option on the item.
    Cast,
    /// Ballots that chose an option on the item other than 弃权.
    CastExcludingAbstain,
}

impl MajorityBase {
    pub fn name_zh(self) -> &'static str {
        match self {
            MajorityBase::Seated => "全体代表",
            MajorityBase::Present => "出席代表",
            MajorityBase::Enabled => "参加表决的代表",
            MajorityBase::Cast => "所投票数",
            MajorityBase::CastExcludingAbstain => "除弃权外所投票数",
        }
    }
}

/// The majority rule: a fraction of a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Majority {
    pub base: MajorityBase,
    #[serde(flatten)]
    pub fraction: Fraction,
}

impl Majority {
    pub const DEFAULT: Majority = Majority {
        base: MajorityBase::Seated,
        fraction: Fraction::MORE_THAN_HALF,
    };

    /// 「全体代表的过半数」, 「出席代表的三分之二以上」…
    pub fn describe(&self) -> String {
        format!("{}的{}", self.base.name_zh(), self.fraction.describe())
    }
}

/// How a 票决 ballot is filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Each candidate gets one of the options, at most `max_yes` of them the first (赞成).
    PerItem,
    /// Tick up to `max_yes` candidates; an unticked candidate counts as the second option.
    ApproveUpToN,
}

/// What happens when candidates tie across the cut line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieRule {
    /// Report the tied candidates and the seats left; a run-off among exactly them follows.
    RevoteTied,
    /// Adopt every tied candidate, even beyond `select_n`.
    IncludeAllTied,
    /// Report the tie; the presiding chair decides.
    ChairDecides,
}

/// What happens when fewer candidates than `select_n` meet the majority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortfallRule {
    AcceptFewer,
    RevoteRemaining,
    Defer,
}

/// Base of the 测评 tiers (`T` in 「满意票达到全体组成人员半数以上」).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierBase {
    Seated,
    Present,
    Valid,
}

/// Whether reaching exactly half of `T` counts (镇海 「半数以上」 → inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    Inclusive,
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    #[serde(default = "Tiers::default_base")]
    pub base: TierBase,
    #[serde(default = "Tiers::default_boundary")]
    pub boundary: Boundary,
}

impl Tiers {
    fn default_base() -> TierBase {
        TierBase::Seated
    }
    fn default_boundary() -> Boundary {
        Boundary::Inclusive
    }
    pub const DEFAULT: Tiers = Tiers {
        base: TierBase::Seated,
        boundary: Boundary::Inclusive,
    };

    /// Does `votes` reach half of `t`?
    pub fn reaches_half(&self, votes: u64, t: u64) -> bool {
        let twice = u128::from(votes) * 2;
        match self.boundary {
            Boundary::Inclusive => twice >= u128::from(t),
            Boundary::Strict => twice > u128::from(t),
        }
    }
}

/// The four rates of a 测评, over valid responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    #[serde(rename = "满意率")]
    Satisfied,
    #[serde(rename = "基本满意率")]
    BasicallySatisfied,
    #[serde(rename = "综合满意率")]
    Overall,
    #[serde(rename = "不满意率")]
    Dissatisfied,
}

impl Metric {
    pub fn name_zh(self) -> &'static str {
        match self {
            Metric::Satisfied => "满意率",
            Metric::BasicallySatisfied => "基本满意率",
            Metric::Overall => "综合满意率",
            Metric::Dissatisfied => "不满意率",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=", alias = "≥")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=", alias = "≤")]
    Le,
}

impl Op {
    pub fn symbol_zh(self) -> &'static str {
        match self {
            Op::Gt => "高于",
            Op::Ge => "不低于",
            Op::Lt => "低于",
            Op::Le => "不高于",
        }
    }
}

/// A follow-up label printed next to an item whose rate crosses a line. Never enforced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Followup {
    pub metric: Metric,
    pub op: Op,
    pub value: f64,
    pub label: String,
}

impl Followup {
    /// Does a rate of `part/whole` trigger this label? Compared exactly: `part ? value·whole`.
    pub fn triggered(&self, part: u64, whole: u64) -> bool {
        if whole == 0 {
            return false;
        }
        // Rates are exact fractions; compare without dividing so 1/3 vs 0.3333 is stable.
        let lhs = part as f64;
        let rhs = self.value * whole as f64;
        match self.op {
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Lt => lhs < rhs,
            Op::Le => lhs <= rhs,
        }
    }
}

/// How casting works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CastPolicy {
    /// The first ballot a deputy casts is final (温州 「表决功能键具有不可更改性」).
    FirstCastFinal,
}

/// Parameters that exist only for one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum KindRules {
    Motion {
        majority: Majority,
    },
    ProjectSelection {
        majority: Majority,
        select_n: u32,
        form: Form,
        max_yes: u32,
        tie_rule: TieRule,
        shortfall_rule: ShortfallRule,
        /// Whether a run-off's candidates must still meet the majority (default true); if
        /// not, the run-off fills its seats by most 赞成 (「以得票多的确定」).
        runoff_majority: bool,
    },
    Satisfaction {
        tiers: Tiers,
        /// Indices into `options` of the valid responses.
        valid_options: Vec<usize>,
        followup: Vec<Followup>,
    },
}

/// A validated rules document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rules {
    pub title: String,
    pub text: String,
    pub kind: Kind,
    /// Per-item choices in display order; for motions and 票决 the first is the "yes".
    pub options: Vec<String>,
    pub quorum: Fraction,
    pub secret: bool,
    pub cast_policy: CastPolicy,
    /// Scrutineers' co-signatures a result needs before it may be announced.
    pub cosignatures_required: u32,
    /// How long a vote under these rules stays open; the appliance closes it then.
    pub voting_seconds: u32,
    /// Whether a manual check-in (补签到) needs a scrutineer's co-signature to enable the
    /// deputy in a vote under these rules.
    pub manual_checkin_cosign: bool,
    #[serde(flatten)]
    pub params: KindRules,
    /// Fields present but without effect for this kind.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFraction {
    num: u32,
    den: u32,
    inclusive: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMajority {
    #[serde(default = "default_majority_base")]
    base: MajorityBase,
    num: u32,
    den: u32,
    inclusive: bool,
}

fn default_majority_base() -> MajorityBase {
    MajorityBase::Seated
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFollowup {
    metric: Metric,
    op: Op,
    value: f64,
    label: String,
}

/// The document as written; [`Rules::from_raw`] turns it into [`Rules`] or says what is wrong.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a rules document object")]
pub(crate) struct RawRules {
    format: Option<String>,
    title: Option<String>,
    text: Option<String>,
    kind: Kind,
    options: Option<Vec<String>>,
    quorum: Option<RawFraction>,
    majority: Option<RawMajority>,
    select_n: Option<u32>,
    form: Option<Form>,
    max_yes: Option<u32>,
    tie_rule: Option<TieRule>,
    shortfall_rule: Option<ShortfallRule>,
    runoff_majority: Option<bool>,
    tiers: Option<Tiers>,
    valid_options: Option<Vec<String>>,
    followup: Option<Vec<RawFollowup>>,
    secret: Option<bool>,
    cast_policy: Option<CastPolicy>,
    cosignatures_required: Option<u32>,
    voting_seconds: Option<u32>,
    manual_checkin_cosign: Option<bool>,
}

/// How long a vote stays open unless the document says otherwise.
pub const DEFAULT_VOTING_SECONDS: u32 = 60;
/// The shortest voting period: long enough for an elderly deputy to read and press.
pub const MIN_VOTING_SECONDS: u32 = 15;
/// The longest voting period a document may set (a day).
pub const MAX_VOTING_SECONDS: u32 = 86_400;

fn err(field: impl Into<String>, message: impl Into<String>) -> RulesError {
    RulesError::new(field, message)
}

impl Rules {
    /// The rules a run-off (对并列项目重新票决, or 就剩余名额另行票决) is decided under: the
    /// same document, with `select_n` the seats left and at most that many 赞成 per ballot
    /// (a deputy marks no more candidates than there are seats); under
    /// `runoff_majority: false` any candidate with a vote may take a seat, by most 赞成.
    /// `None` for a kind without run-offs or no seat to fill.
    pub fn for_runoff(&self, seats: u32) -> Option<Rules> {
        let KindRules::ProjectSelection {
            majority,
            select_n,
            max_yes,
            runoff_majority,
            ..
        } = &self.params
        else {
            return None;
        };
        if seats == 0 || seats > *select_n {
            return None;
        }
        let mut r = self.clone();
        if let KindRules::ProjectSelection {
            majority: m,
            select_n: n,
            max_yes: y,
            ..
        } = &mut r.params
        {
            *n = seats;
            *y = (*max_yes).min(seats);
            if !runoff_majority {
                *m = Majority {
                    base: MajorityBase::Cast,
                    fraction: super::Fraction::ANY_VOTE,
                };
            } else {
                *m = *majority;
            }
        }
        Some(r)
    }

    /// Parses and validates a rules document from its exact bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Rules, RulesError> {
        let raw: RawRules = super::parse_json(bytes, MAX_DOCUMENT_BYTES, "rules document")?;
        Rules::from_raw(raw)
    }

    pub(crate) fn from_raw(raw: RawRules) -> Result<Rules, RulesError> {
        if let Some(format) = &raw.format
            && format != FORMAT
        {
            return Err(err(
                "format",
                format!("`{format}` is not a format this appliance reads (expected `{FORMAT}`)"),
            ));
        }
        let title = raw.title.unwrap_or_default().trim().to_string();
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(err(
                "title",
                format!("longer than {MAX_TITLE_CHARS} characters"),
            ));
        }
        let text = raw.text.unwrap_or_default();
        if text.len() > MAX_TEXT_BYTES {
            return Err(err(
                "text",
                format!("longer than {} KiB", MAX_TEXT_BYTES / 1024),
            ));
        }
        let kind = raw.kind;
        let options = match raw.options {
            None => kind
                .default_options()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Some(options) => check_options(options)?,
        };
        let quorum = match raw.quorum {
            None => Fraction::TWO_THIRDS_INCLUSIVE,
            Some(q) => Fraction::new(q.num, q.den, q.inclusive)
                .map_err(|(field, message)| err(format!("quorum.{field}"), message))?,
        };
        // A quorum below half would let a handful of deputies open a secret vote, and a vote
        // of one reveals its only ballot.
        if u64::from(quorum.num()) * 2 < u64::from(quorum.den()) {
            return Err(err(
                "quorum",
                format!(
                    "{}/{} is below one half: a session needs at least half its deputies present",
                    quorum.num(),
                    quorum.den()
                ),
            ));
        }
        let voting_seconds = raw.voting_seconds.unwrap_or(DEFAULT_VOTING_SECONDS);
        if !(MIN_VOTING_SECONDS..=MAX_VOTING_SECONDS).contains(&voting_seconds) {
            return Err(err(
                "voting_seconds",
                format!("must be {MIN_VOTING_SECONDS} to {MAX_VOTING_SECONDS} seconds"),
            ));
        }
        let mut warnings = Vec::new();
        let mut unused = |field: &str, present: bool| {
            if present {
                warnings.push(format!("{field}: has no effect on a {}", kind.name_zh()));
            }
        };

        let params = match kind {
            Kind::Motion | Kind::ProjectSelection => {
                // An approval ballot may offer the tick alone; every other form needs a yes
                // and something else.
                let approval = raw.form == Some(Form::ApproveUpToN);
                if options.len() < 2 && !(approval && kind == Kind::ProjectSelection) {
                    return Err(err(
                        "options",
                        "a motion or per-item 票决 needs at least two options (the first is the yes)",
                    ));
                }
                unused("tiers", raw.tiers.is_some());
                unused("valid_options", raw.valid_options.is_some());
                unused("followup", raw.followup.is_some());
                let majority = match raw.majority {
                    None => Majority::DEFAULT,
                    Some(m) => Majority {
                        base: m.base,
                        fraction: Fraction::new(m.num, m.den, m.inclusive).map_err(
                            |(field, message)| err(format!("majority.{field}"), message),
                        )?,
                    },
                };
                if kind == Kind::Motion {
                    unused("select_n", raw.select_n.is_some());
                    unused("form", raw.form.is_some());
                    unused("max_yes", raw.max_yes.is_some());
                    unused("tie_rule", raw.tie_rule.is_some());
                    unused("shortfall_rule", raw.shortfall_rule.is_some());
                    unused("runoff_majority", raw.runoff_majority.is_some());
                    KindRules::Motion { majority }
                } else {
                    let select_n = raw.select_n.ok_or_else(|| {
                        err("select_n", "missing: how many projects the vote adopts")
                    })?;
                    if select_n == 0 {
                        return Err(err("select_n", "must be at least 1"));
                    }
                    let max_yes = raw.max_yes.unwrap_or(select_n);
                    if max_yes == 0 {
                        return Err(err("max_yes", "must be at least 1"));
                    }
                    KindRules::ProjectSelection {
                        majority,
                        select_n,
                        form: raw.form.unwrap_or(Form::PerItem),
                        max_yes,
                        tie_rule: raw.tie_rule.unwrap_or(TieRule::RevoteTied),
                        shortfall_rule: raw.shortfall_rule.unwrap_or(ShortfallRule::AcceptFewer),
                        runoff_majority: raw.runoff_majority.unwrap_or(true),
                    }
                }
            }
            Kind::Satisfaction => {
                unused("majority", raw.majority.is_some());
                unused("select_n", raw.select_n.is_some());
                unused("form", raw.form.is_some());
                unused("max_yes", raw.max_yes.is_some());
                unused("tie_rule", raw.tie_rule.is_some());
                unused("shortfall_rule", raw.shortfall_rule.is_some());
                unused("runoff_majority", raw.runoff_majority.is_some());
                for needed in [SATISFIED, BASICALLY_SATISFIED, DISSATISFIED] {
                    if !options.iter().any(|o| o == needed) {
                        return Err(err(
                            "options",
                            format!("a satisfaction test needs the option {needed}"),
                        ));
                    }
                }
                let index = |name: &str| options.iter().position(|o| o == name);
                let valid_options = match raw.valid_options {
                    None => [SATISFIED, BASICALLY_SATISFIED, DISSATISFIED]
                        .iter()
                        .filter_map(|n| index(n))
                        .collect(),
                    Some(list) => {
                        if list.len() > options.len() {
                            return Err(err("valid_options", "lists more entries than options"));
                        }
                        let mut picked: Vec<usize> = Vec::with_capacity(list.len());
                        for (i, name) in list.iter().enumerate() {
                            let Some(at) = index(name) else {
                                return Err(err(
                                    format!("valid_options[{i}]"),
                                    format!("`{name}` is not one of the options"),
                                ));
                            };
                            if picked.contains(&at) {
                                return Err(err(
                                    format!("valid_options[{i}]"),
                                    format!("`{name}` is listed twice"),
                                ));
                            }
                            picked.push(at);
                        }
                        for needed in [SATISFIED, BASICALLY_SATISFIED, DISSATISFIED] {
                            if !list.iter().any(|o| o == needed) {
                                return Err(err(
                                    "valid_options",
                                    format!("must include {needed}: the rates are taken over it"),
                                ));
                            }
                        }
                        picked.sort_unstable();
                        picked
                    }
                };
                let followup = check_followups(raw.followup.unwrap_or_default())?;
                KindRules::Satisfaction {
                    tiers: raw.tiers.unwrap_or(Tiers::DEFAULT),
                    valid_options,
                    followup,
                }
            }
        };

        let cosignatures_required = raw.cosignatures_required.unwrap_or(0);
        if cosignatures_required > MAX_COSIGNATURES {
            return Err(err(
                "cosignatures_required",
                format!("at most {MAX_COSIGNATURES}"),
            ));
        }
        Ok(Rules {
            cosignatures_required,
            voting_seconds,
            manual_checkin_cosign: raw.manual_checkin_cosign.unwrap_or(false),
            title,
            text,
            kind,
            options,
            quorum,
            secret: raw.secret.unwrap_or(true),
            cast_policy: raw.cast_policy.unwrap_or(CastPolicy::FirstCastFinal),
            params,
            warnings,
        })
    }

    /// Index of the option that is "yes" for the majority rule (motions and 票决).
    pub const YES: usize = 0;

    /// Index of the option named 弃权, if the document offers one.
    pub fn abstain_index(&self) -> Option<usize> {
        self.options.iter().position(|o| o == ABSTAIN)
    }

    /// Checks what can only be checked once the items are known (SPEC §4: `select_n`,
    /// `max_yes` against the candidates) and returns warnings such as 等额.
    pub fn check_items(&self, items: usize) -> Result<Vec<String>, RulesError> {
        let mut warnings = self.warnings.clone();
        if let KindRules::ProjectSelection {
            select_n, max_yes, ..
        } = self.params
        {
            let (select_n, max_yes) = (select_n as usize, max_yes as usize);
            if select_n > items {
                return Err(err(
                    "select_n",
                    format!("{select_n} projects to adopt but only {items} candidates"),
                ));
            }
            if max_yes > items {
                return Err(err(
                    "max_yes",
                    format!("{max_yes} 赞成 allowed but only {items} candidates"),
                ));
            }
            if items == select_n {
                warnings.push(format!(
                    "select_n: {items} candidates for {select_n} places is 等额, not 差额票决"
                ));
            }
        }
        Ok(warnings)
    }
}

fn check_options(options: Vec<String>) -> Result<Vec<String>, RulesError> {
    if options.is_empty() {
        return Err(err("options", "is empty: a ballot needs choices"));
    }
    if options.len() > MAX_OPTIONS {
        return Err(err(
            "options",
            format!("{} options; at most {MAX_OPTIONS}", options.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(options.len());
    for (i, option) in options.into_iter().enumerate() {
        let option = option.trim().to_string();
        if option.is_empty() {
            return Err(err(format!("options[{i}]"), "is empty"));
        }
        if option.chars().count() > MAX_OPTION_CHARS {
            return Err(err(
                format!("options[{i}]"),
                format!("longer than {MAX_OPTION_CHARS} characters"),
            ));
        }
        if option.chars().any(char::is_control) {
            return Err(err(format!("options[{i}]"), "holds a control character"));
        }
        if out.contains(&option) {
            return Err(err(
                format!("options[{i}]"),
                format!("`{option}` is listed twice"),
            ));
        }
        out.push(option);
    }
    Ok(out)
}

fn check_followups(raw: Vec<RawFollowup>) -> Result<Vec<Followup>, RulesError> {
    if raw.len() > MAX_FOLLOWUPS {
        return Err(err(
            "followup",
            format!("{} entries; at most {MAX_FOLLOWUPS}", raw.len()),
        ));
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, f)| {
            if !(0.0..=1.0).contains(&f.value) {
                return Err(err(
                    format!("followup[{i}].value"),
                    format!("{} is not a rate between 0 and 1", f.value),
                ));
            }
            let label = f.label.trim().to_string();
            if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
                return Err(err(
                    format!("followup[{i}].label"),
                    format!("must be 1 to {MAX_LABEL_CHARS} characters"),
                ));
            }
            Ok(Followup {
                metric: f.metric,
                op: f.op,
                value: f.value,
                label,
            })
        })
        .collect()
}
