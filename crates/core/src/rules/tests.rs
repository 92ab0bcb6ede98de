//! The worked vectors of `research/domain-rules-and-anchors.md` §8, through the whole engine.

use serde_json::{Value, json};

use super::*;

fn outcome(input: Value) -> Outcome {
    let bytes = serde_json::to_vec(&input).expect("json");
    TallyInput::parse(&bytes)
        .expect("valid input")
        .decide()
        .outcome
}

fn refused(input: Value) -> RulesError {
    let bytes = serde_json::to_vec(&input).expect("json");
    TallyInput::parse(&bytes).expect_err("input must be refused")
}

fn motion(seated: u64, present: u64, counts: [u64; 3]) -> Value {
    json!({
        "rules": { "format": "piaojue-rules/1", "title": "表决办法", "kind": "motion" },
        "items": ["决议"],
        "roll": { "seated": seated, "present": present, "enabled": present },
        "counts": [counts],
    })
}

fn passed(o: &Outcome) -> bool {
    matches!(o.decision, VoteDecision::Motion { passed: true })
}

#[test]
fn motion_announcement_uses_the_hall_wording() {
    let o = outcome(motion(327, 314, [300, 5, 6]));
    assert!(o.quorum_met);
    assert_eq!(o.quorum_required, 218);
    assert_eq!(o.items[0].not_voted, 3);
    assert_eq!(
        o.announcement,
        "应到代表327名，实到314名。赞成300票，反对5票，弃权6票，未按表决器3名。通过。"
    );
}

#[test]
fn majority_of_all_seated_327_needs_164_whatever_the_abstentions() {
    // §8.2: 全体代表 base — 未按 and 弃权 work against passage like 反对.
    let o = outcome(motion(327, 314, [164, 0, 150]));
    assert!(passed(&o));
    assert_eq!(o.items[0].majority_required, Some(164));
    let o = outcome(motion(327, 314, [163, 0, 0]));
    assert!(!passed(&o), "163 of 327 is not more than half");
    assert!(o.announcement.ends_with("未按表决器151名。未通过。"));
    let o = outcome(motion(300, 300, [151, 149, 0]));
    assert!(passed(&o));
    let o = outcome(motion(300, 300, [150, 150, 0]));
    assert!(!passed(&o), "exactly half is not 过半数");
}

#[test]
fn constitution_style_two_thirds_of_2980_needs_1987() {
    let input = |yes: u64| {
        json!({
            "rules": { "kind": "motion",
                       "majority": { "base": "seated", "num": 2, "den": 3, "inclusive": true } },
            "items": ["宪法修正案"],
            "roll": { "seated": 2980, "present": 2950, "enabled": 2950 },
            "counts": [[yes, 2950 - yes, 0]],
        })
    };
    let o = outcome(input(1987));
    assert!(passed(&o));
    assert_eq!(o.items[0].majority_required, Some(1987));
    assert!(!passed(&outcome(input(1986))));
}

#[test]
fn quorum_of_327_is_218() {
    let o = outcome(motion(327, 218, [200, 0, 0]));
    assert!(o.quorum_met && passed(&o));
    let o = outcome(motion(327, 217, [200, 0, 0]));
    assert!(!o.quorum_met);
    assert!(!passed(&o), "no decision without a quorum");
    assert_eq!(
        o.announcement,
        "应到代表327名，实到217名，不足法定人数（218名），不能进行表决。"
    );
}

#[test]
fn majority_bases_other_than_seated() {
    let base = |base: &str, yes: u64, no: u64, abstain: u64| {
        let o = outcome(json!({
            "rules": { "kind": "motion",
                       "majority": { "base": base, "num": 1, "den": 2, "inclusive": false } },
            "items": ["决定"],
            "roll": { "seated": 100, "present": 80, "enabled": 70 },
            "counts": [[yes, no, abstain]],
        }));
        (passed(&o), o.items[0].majority_required)
    };
    assert_eq!(base("present", 41, 0, 0), (true, Some(41)));
    assert_eq!(base("present", 40, 0, 0), (false, Some(41)));
    assert_eq!(base("enabled", 36, 0, 0), (true, Some(36)));
    assert_eq!(base("enabled", 35, 0, 0), (false, Some(36)));
    // cast: 30 + 29 + 0 = 59 cast → 30 is more than half.
    assert_eq!(base("cast", 30, 29, 0), (true, Some(30)));
    assert_eq!(base("cast", 30, 20, 10), (false, Some(31)));
    // Abstentions leave the base: 30 of (30 + 20) passes.
    assert_eq!(base("cast_excluding_abstain", 30, 20, 10), (true, Some(26)));
}

/// §8.4: 12 candidates for 10 places, 231 seated, #10 and #11 tie at 140.
fn twelve_for_ten(tie_rule: &str, counts: Vec<[u64; 3]>) -> Value {
    let items: Vec<String> = (1..=12).map(|i| format!("候选项目{i}")).collect();
    json!({
        "rules": { "kind": "project_selection", "select_n": 10, "tie_rule": tie_rule },
        "items": items,
        "roll": { "seated": 231, "present": 225, "enabled": 225 },
        "counts": counts,
    })
}

fn tie_counts() -> Vec<[u64; 3]> {
    let mut rows: Vec<[u64; 3]> = (0..9).map(|i| [200 - 5 * i, 20, 5]).collect();
    rows.push([140, 80, 5]); // #10
    rows.push([140, 70, 15]); // #11
    rows.push([100, 120, 5]); // #12
    rows
}

fn selection(o: &Outcome) -> (Vec<String>, Option<Tie>, u32) {
    match &o.decision {
        VoteDecision::ProjectSelection {
            selected,
            tie,
            shortfall,
        } => (selected.clone(), tie.clone(), *shortfall),
        other => panic!("not a selection: {other:?}"),
    }
}

#[test]
fn tie_at_the_cut_revote_tied() {
    let o = outcome(twelve_for_ten("revote_tied", tie_counts()));
    assert_eq!(o.items[0].majority_required, Some(116));
    let (selected, tie, shortfall) = selection(&o);
    assert_eq!(selected.len(), 9);
    assert_eq!(selected[0], "候选项目1");
    let tie = tie.expect("a tie at the cut");
    assert_eq!(tie.items, vec!["候选项目10", "候选项目11"]);
    assert_eq!((tie.seats, tie.votes), (1, 140));
    assert_eq!(shortfall, 0);
    // Both tied share rank 10; #12 (100 < 116) has no rank.
    let rank = |i: usize| match o.items[i].decision {
        ItemDecision::ProjectSelection { rank, .. } => rank,
        _ => unreachable!(),
    };
    assert_eq!((rank(9), rank(10), rank(11)), (Some(10), Some(10), None));
    assert!(
        o.announcement
            .contains("候选项目10、候选项目11得票相等（均为140票），应就票数相等的项目再次票决，确定剩余1个名额。"),
        "{}",
        o.announcement
    );
}

#[test]
fn tie_at_the_cut_include_all_and_chair() {
    let (selected, tie, shortfall) =
        selection(&outcome(twelve_for_ten("include_all_tied", tie_counts())));
    assert_eq!(selected.len(), 11);
    assert!(tie.is_none());
    assert_eq!(shortfall, 0);
    let o = outcome(twelve_for_ten("chair_decides", tie_counts()));
    let (selected, tie, _) = selection(&o);
    assert_eq!(selected.len(), 9);
    assert_eq!(tie.expect("tie").seats, 1);
    assert!(
        o.announcement
            .contains("由会议主持人依照票决办法确定剩余1个名额")
    );
}

#[test]
fn a_tie_below_or_above_the_cut_is_no_tie() {
    let mut rows = tie_counts();
    rows[9] = [150, 70, 5]; // #10 now clear of #11
    let (selected, tie, _) = selection(&outcome(twelve_for_ten("revote_tied", rows.clone())));
    assert_eq!(selected.len(), 10);
    assert!(tie.is_none());
    // Equal yes among the top nine is not a tie at the cut.
    rows[0] = [195, 25, 5];
    let (selected, tie, _) = selection(&outcome(twelve_for_ten("revote_tied", rows)));
    assert_eq!(selected.len(), 10);
    assert!(tie.is_none());
}

#[test]
fn shortfall_accept_fewer() {
    // §8.5: only 8 of 12 reach 116.
    let rows: Vec<[u64; 3]> = (0..12)
        .map(|i| {
            if i < 8 {
                [180 - i, 40, 5]
            } else {
                [115 - i, 100, 10]
            }
        })
        .collect();
    let o = outcome(twelve_for_ten("revote_tied", rows));
    let (selected, tie, shortfall) = selection(&o);
    assert_eq!(selected.len(), 8);
    assert!(tie.is_none());
    assert_eq!(shortfall, 2);
    assert!(
        o.announcement
            .contains("尚缺2个名额，按票决办法，以获得通过的项目为准。")
    );
}

#[test]
fn too_many_yes_in_all_is_refused() {
    // 7 candidates, at most 5 赞成 on each of 100 ballots: 501 赞成 cannot happen.
    let input = json!({
        "rules": { "kind": "project_selection", "select_n": 5 },
        "items": ["一", "二", "三", "四", "五", "六", "七"],
        "roll": { "seated": 120, "present": 100, "enabled": 100 },
        "counts": [[100,0,0],[100,0,0],[100,0,0],[100,0,0],[100,0,0],[1,0,0],[0,0,0]],
    });
    let e = refused(input);
    assert_eq!(e.field, "counts");
    assert!(e.message.contains("501 赞成"), "{e}");
}

fn zhenhai(seated: u64, boundary: &str, row: [u64; 3]) -> Option<Tier> {
    let o = outcome(json!({
        "rules": { "kind": "satisfaction", "quorum": { "num": 1, "den": 2, "inclusive": false },
                   "tiers": { "base": "seated", "boundary": boundary } },
        "items": ["项目"],
        "roll": { "seated": seated, "present": seated, "enabled": seated },
        "counts": [row],
    }));
    match &o.items[0].decision {
        ItemDecision::Satisfaction { tier, .. } => *tier,
        _ => unreachable!(),
    }
}

#[test]
fn zhenhai_tiers_at_29() {
    // §8.6 with T = 29: half is 14.5.
    for boundary in ["inclusive", "strict"] {
        assert_eq!(zhenhai(29, boundary, [17, 11, 1]), Some(Tier::Satisfied));
        assert_eq!(
            zhenhai(29, boundary, [14, 1, 14]),
            Some(Tier::BasicallySatisfied)
        );
        assert_eq!(zhenhai(29, boundary, [10, 4, 15]), Some(Tier::Dissatisfied));
    }
}

#[test]
fn zhenhai_boundary_at_30_both_ways() {
    // T = 30, S = 15, B = 0: 「半数以上」 counts it, strict does not.
    assert_eq!(zhenhai(30, "inclusive", [15, 0, 15]), Some(Tier::Satisfied));
    assert_eq!(zhenhai(30, "strict", [15, 0, 15]), Some(Tier::Dissatisfied));
    assert_eq!(
        zhenhai(30, "inclusive", [14, 1, 15]),
        Some(Tier::BasicallySatisfied)
    );
    assert_eq!(zhenhai(30, "strict", [14, 1, 15]), Some(Tier::Dissatisfied));
    assert_eq!(
        zhenhai(30, "strict", [15, 1, 14]),
        Some(Tier::BasicallySatisfied)
    );
}

#[test]
fn satisfaction_rates_are_over_valid_responses() {
    let o = outcome(json!({
        "rules": { "kind": "satisfaction", "options": ["满意", "基本满意", "不满意", "不了解"],
                   "tiers": { "base": "valid", "boundary": "strict" },
                   "followup": [ { "metric": "不满意率", "op": ">", "value": 0.3333, "label": "整改" },
                                 { "metric": "满意率", "op": "<", "value": 0.6, "label": "跟踪监督" } ] },
        "items": ["农民饮用水达标提标工程", "道路"],
        "roll": { "seated": 240, "present": 231, "enabled": 231 },
        "counts": [[175, 43, 4, 5], [60, 40, 60, 10]],
    }));
    let ItemDecision::Satisfaction {
        valid,
        rates,
        tier,
        followup,
    } = &o.items[0].decision
    else {
        unreachable!()
    };
    assert_eq!(*valid, 222);
    assert!((rates.satisfied - 175.0 / 222.0).abs() < 1e-12);
    assert!((rates.overall - 218.0 / 222.0).abs() < 1e-12);
    assert_eq!(*tier, Some(Tier::Satisfied));
    assert!(followup.is_empty());
    assert_eq!(o.items[0].not_voted, 4);
    let ItemDecision::Satisfaction {
        valid,
        tier,
        followup,
        ..
    } = &o.items[1].decision
    else {
        unreachable!()
    };
    assert_eq!(*valid, 160);
    // 60 of 160 valid is not more than half; 100 of 160 is.
    assert_eq!(*tier, Some(Tier::BasicallySatisfied));
    assert_eq!(followup, &vec!["整改".to_string(), "跟踪监督".to_string()]);
    assert!(
        o.announcement.contains("满意率78.83%"),
        "{}",
        o.announcement
    );
}

#[test]
fn refusals_name_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 10, "present": 11}, "counts": [[1,0,0]]}),
            "roll.present",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 10, "present": 9, "enabled": 10}, "counts": [[1,0,0]]}),
            "roll.enabled",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0]]}),
            "counts[0]",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[5,5,0]]}),
            "counts[0]",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,-1,0]]}),
            "counts[0][1]",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": ["a", "a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0],[1,0,0]]}),
            "items[1]",
        ),
        (
            json!({"rules": {"kind": "vote"}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.kind",
        ),
        (
            json!({"rules": {"kind": "motion", "majority": {"base": "everyone", "num": 1, "den": 2, "inclusive": false}}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.majority.base",
        ),
        (
            json!({"rules": {"kind": "motion", "majority": {"num": 1, "den": 0, "inclusive": false}}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.majority.den",
        ),
        (
            json!({"rules": {"kind": "motion", "quorum": {"num": 4, "den": 3, "inclusive": true}}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.quorum.num",
        ),
        (
            json!({"rules": {"kind": "motion", "options": []}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[]]}),
            "rules.options",
        ),
        (
            json!({"rules": {"kind": "motion", "options": ["赞成", "赞成"]}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0]]}),
            "rules.options[1]",
        ),
        (
            json!({"rules": {"kind": "project_selection", "select_n": 3}, "items": ["a", "b"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0],[1,0,0]]}),
            "rules.select_n",
        ),
        (
            json!({"rules": {"kind": "project_selection", "select_n": 0}, "items": ["a", "b"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0],[1,0,0]]}),
            "rules.select_n",
        ),
        (
            json!({"rules": {"kind": "project_selection"}, "items": ["a", "b"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0],[1,0,0]]}),
            "rules.select_n",
        ),
        (
            json!({"rules": {"kind": "project_selection", "select_n": 1, "max_yes": 3}, "items": ["a", "b"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0],[1,0,0]]}),
            "rules.max_yes",
        ),
        (
            json!({"rules": {"kind": "project_selection", "select_n": 1, "tie_rule": "coin_toss"}, "items": ["a", "b"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0],[1,0,0]]}),
            "rules.tie_rule",
        ),
        (
            json!({"rules": {"kind": "satisfaction", "options": ["好", "坏"]}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0]]}),
            "rules.options",
        ),
        (
            json!({"rules": {"kind": "satisfaction", "valid_options": ["满意", "基本满意", "很好"]}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.valid_options[2]",
        ),
        (
            json!({"rules": {"kind": "satisfaction", "followup": [{"metric": "不满意率", "op": ">", "value": 1.5, "label": "整改"}]}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.followup[0].value",
        ),
        (
            json!({"rules": {"kind": "motion", "inclusive": true}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.inclusive",
        ),
        (
            json!({"rules": {"kind": "motion", "format": "piaojue-rules/9"}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}),
            "rules.format",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 0, "present": 0}, "counts": [[0,0,0]]}),
            "roll.seated",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": [], "roll": {"seated": 10, "present": 9}, "counts": []}),
            "items",
        ),
        (
            json!({"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 10, "present": 9, "cast": 5}, "counts": [[4,2,0]]}),
            "counts[0]",
        ),
    ];
    for (input, field) in cases {
        let e = refused(input.clone());
        assert_eq!(e.field, field, "{input} gave `{e}`");
        assert!(!e.message.is_empty());
    }
}

#[test]
fn the_documented_example_error_reads_as_in_the_issue() {
    let e = refused(json!({
        "rules": {"kind": "project_selection", "select_n": 1},
        "items": ["a", "b", "c"],
        "roll": {"seated": 240, "present": 230, "enabled": 225},
        "counts": [[100, 0, 0], [50, 0, 0], [200, 20, 10]],
    }));
    assert_eq!(
        e.to_string(),
        "counts[2]: 230 ballots counted but only 225 deputies could vote"
    );
}

#[test]
fn unused_fields_warn_and_equal_candidates_warn() {
    let bytes = serde_json::to_vec(&json!({
        "rules": {"kind": "project_selection", "select_n": 2, "tiers": {"base": "seated"}},
        "items": ["a", "b"],
        "roll": {"seated": 10, "present": 9},
        "counts": [[6, 0, 0], [6, 0, 0]],
    }))
    .expect("json");
    let report = TallyInput::parse(&bytes).expect("valid").decide();
    let warnings = report.outcome.warnings.join("\n");
    assert!(
        warnings.contains("rules.tiers: has no effect"),
        "{warnings}"
    );
    assert!(warnings.contains("等额"), "{warnings}");
}

#[test]
fn rules_hash_is_over_the_bytes_as_written() {
    let text = br#"{"rules": {"kind":"motion"}, "items": ["a"], "roll": {"seated": 3, "present": 3}, "counts": [[2,1,0]]}"#;
    let input = TallyInput::parse(text).expect("valid");
    assert_eq!(
        input.rules_sha256,
        crate::crypto::sha256_hex(br#"{"kind":"motion"}"#)
    );
}

#[test]
fn no_ballots_cast_is_no_majority_even_inclusive() {
    let o = outcome(json!({
        "rules": { "kind": "motion",
                   "majority": { "base": "cast", "num": 2, "den": 3, "inclusive": true } },
        "items": ["决定"],
        "roll": { "seated": 30, "present": 30 },
        "counts": [[0, 0, 0]],
    }));
    assert!(!passed(&o));
    assert_eq!(o.items[0].not_voted, 30);
}

#[test]
fn approval_ballot_may_offer_the_tick_alone() {
    let o = outcome(json!({
        "rules": { "kind": "project_selection", "form": "approve_up_to_n", "select_n": 2,
                   "options": ["赞成"] },
        "items": ["甲", "乙", "丙"],
        "roll": { "seated": 10, "present": 10 },
        "counts": [[8], [6], [3]],
    }));
    let (selected, tie, shortfall) = selection(&o);
    assert_eq!(selected, vec!["甲", "乙"]);
    assert!(tie.is_none());
    assert_eq!(shortfall, 0);
    let e = refused(json!({
        "rules": { "kind": "project_selection", "select_n": 2, "options": ["赞成"] },
        "items": ["甲", "乙", "丙"],
        "roll": { "seated": 10, "present": 10 },
        "counts": [[8], [6], [3]],
    }));
    assert_eq!(e.field, "rules.options");
}
