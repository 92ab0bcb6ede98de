//! The announcement read out in the hall, in the formal wording of the session:
//! `应到代表327名，实到314名。赞成300票，反对5票，弃权6票，未按表决器3名。通过。`
//!
//! 未按 is always shown on its own and never as a vote (人大研究 2022-2 《消除"未按"现象》).

use std::fmt::Write as _;

use super::document::{KindRules, MajorityBase, Rules, ShortfallRule, TieRule};
use super::tally::{ItemDecision, ItemOutcome, Outcome, VoteDecision};

pub(crate) fn announcement(rules: &Rules, outcome: &Outcome) -> String {
    let roll = outcome.roll;
    if !outcome.quorum_met {
        return format!(
            "应到代表{}名，实到{}名，不足法定人数（{}名），不能进行{}。",
            roll.seated,
            roll.present,
            outcome.quorum_required,
            rules.kind.name_zh()
        );
    }
    let mut text = format!("应到代表{}名，实到{}名。", roll.seated, roll.present);
    match (&rules.params, &outcome.decision) {
        (KindRules::Motion { .. }, _) => {
            let single = outcome.items.len() == 1;
            for item in &outcome.items {
                if !single {
                    let _ = write!(text, "\n{}：", item.item);
                }
                text.push_str(&counts_line(item));
                let passed = matches!(item.decision, ItemDecision::Motion { passed: true });
                text.push_str(if passed { "通过。" } else { "未通过。" });
            }
        }
        (
            KindRules::ProjectSelection {
                majority,
                select_n,
                tie_rule,
                shortfall_rule,
                ..
            },
            VoteDecision::ProjectSelection {
                selected,
                tie,
                shortfall,
            },
        ) => {
            let fixed_base = !matches!(
                majority.base,
                MajorityBase::Cast | MajorityBase::CastExcludingAbstain
            );
            if majority.fraction.num() == 0 {
                // A run-off under `runoff_majority: false`.
                let _ = write!(
                    text,
                    "候选项目{}个，拟确定{}个，以得票多的确定。\n得票情况（按赞成票排序）：",
                    outcome.items.len(),
                    select_n
                );
            } else {
                let _ = write!(
                    text,
                    "候选项目{}个，拟确定{}个，以{}",
                    outcome.items.len(),
                    select_n,
                    majority.describe()
                );
                match outcome.items.first().and_then(|i| i.majority_required) {
                    Some(required) if fixed_base => {
                        let _ = write!(text, "（{required}票）");
                    }
                    _ => {}
                }
                text.push_str("赞成为通过。\n得票情况（按赞成票排序）：");
            }
            let mut ranked: Vec<&ItemOutcome> = outcome.items.iter().collect();
            // Candidates meeting the majority first, each group by yes; stable for equal yes.
            ranked.sort_by_key(|i| {
                let meets = matches!(
                    i.decision,
                    ItemDecision::ProjectSelection {
                        meets_majority: true,
                        ..
                    }
                );
                (!meets, std::cmp::Reverse(i.counts[Rules::YES].1))
            });
            for item in &ranked {
                let ItemDecision::ProjectSelection {
                    meets_majority,
                    rank,
                    ..
                } = item.decision
                else {
                    continue;
                };
                let label = match rank {
                    Some(r) if meets_majority => format!("第{r}名"),
                    _ => "未获通过".into(),
                };
                let _ = write!(text, "\n{label}　{}：{}", item.item, counts_line(item));
            }
            if selected.is_empty() {
                text.push_str("\n没有项目获得通过。");
            } else {
                let _ = write!(
                    text,
                    "\n票决确定的民生实事项目（{}个）：{}。",
                    selected.len(),
                    selected.join("、")
                );
            }
            if let Some(tie) = tie {
                let follow = match tie_rule {
                    TieRule::ChairDecides => "由会议主持人依照票决办法确定",
                    _ => "应就票数相等的项目再次票决，确定",
                };
                let _ = write!(
                    text,
                    "\n{}得票相等（均为{}票），{}剩余{}个名额。",
                    tie.items.join("、"),
                    tie.votes,
                    follow,
                    tie.seats
                );
            }
            if *shortfall > 0 {
                let follow = match shortfall_rule {
                    ShortfallRule::AcceptFewer => "按票决办法，以获得通过的项目为准",
                    ShortfallRule::RevoteRemaining => "按票决办法，就剩余名额另行票决",
                    ShortfallRule::Defer => "按票决办法，剩余名额留待下次会议票决",
                };
                let _ = write!(
                    text,
                    "\n获得通过的项目少于拟定数，尚缺{shortfall}个名额，{follow}。"
                );
            }
        }
        (KindRules::Satisfaction { .. }, _) => {
            for item in &outcome.items {
                let ItemDecision::Satisfaction {
                    valid,
                    rates,
                    tier,
                    followup,
                } = &item.decision
                else {
                    continue;
                };
                let _ = write!(text, "\n{}：{}", item.item, counts_line(item));
                let _ = write!(
                    text,
                    "有效票{valid}票，满意率{}，综合满意率{}，",
                    percent(rates.satisfied),
                    percent(rates.overall)
                );
                match tier {
                    Some(tier) => {
                        let _ = write!(text, "测评结果：{}。", tier.name_zh());
                    }
                    None => text.push_str("无有效票，不能评定。"),
                }
                if !followup.is_empty() {
                    let _ = write!(text, "（{}）", followup.join("、"));
                }
            }
        }
        _ => {}
    }
    text
}

/// 「赞成300票，反对5票，弃权6票，未按表决器3名。」
fn counts_line(item: &ItemOutcome) -> String {
    let mut line = String::new();
    for (option, n) in &item.counts {
        let _ = write!(line, "{option}{n}票，");
    }
    let _ = write!(line, "未按表决器{}名。", item.not_voted);
    line
}

/// Two decimals, as read out: 96.55%.
fn percent(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}
