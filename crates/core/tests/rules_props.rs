//! Property tests: the invariants of the count hold for every input the rules accept.

use piaojue_core::rules::{
    Counts, ItemDecision, Kind, KindRules, Outcome, Roll, Rules, TallyInput, VoteDecision, decide,
};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
struct Case {
    rules: Rules,
    items: Vec<String>,
    roll: Roll,
    counts: Vec<Vec<u64>>,
}

impl Case {
    fn decide(&self) -> Option<Outcome> {
        let counts = Counts::new(
            &self.rules,
            self.items.clone(),
            self.roll,
            self.counts.clone(),
        )
        .ok()?;
        Some(decide(&self.rules, &counts, Vec::new()))
    }
}

/// Splits up to `enabled` ballots of one item among `options` choices.
fn row(options: usize, enabled: u64) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0.0f64..1.0, options + 1).prop_map(move |weights| {
        let total: f64 = weights.iter().sum::<f64>().max(1e-9);
        let mut left = enabled;
        let mut out = Vec::with_capacity(options);
        for w in &weights[..options] {
            let n = ((w / total) * enabled as f64).floor() as u64;
            let n = n.min(left);
            left -= n;
            out.push(n);
        }
        out
    })
}

fn rules_json() -> impl Strategy<Value = serde_json::Value> {
    let fraction = prop_oneof![
        Just((1u32, 2u32, false)),
        Just((2, 3, true)),
        Just((1, 2, true)),
        Just((3, 5, true))
    ];
    let base = prop_oneof![
        Just("seated"),
        Just("present"),
        Just("enabled"),
        Just("cast"),
        Just("cast_excluding_abstain")
    ];
    let tie = prop_oneof![
        Just("revote_tied"),
        Just("include_all_tied"),
        Just("chair_decides")
    ];
    let boundary = prop_oneof![Just("inclusive"), Just("strict")];
    let tier_base = prop_oneof![Just("seated"), Just("present"), Just("valid")];
    (
        0..3u8,
        fraction,
        base,
        tie,
        1..6u32,
        boundary,
        tier_base,
        any::<bool>(),
    )
        .prop_map(
            |(kind, (num, den, inclusive), base, tie, select_n, boundary, tier_base, approve)| {
                let majority =
                    json!({"base": base, "num": num, "den": den, "inclusive": inclusive});
                match kind {
                    0 => json!({"kind": "motion", "majority": majority}),
                    1 => json!({"kind": "project_selection", "majority": majority,
                             "select_n": select_n, "tie_rule": tie, "max_yes": 12,
                             "form": if approve { "approve_up_to_n" } else { "per_item" }}),
                    _ => json!({"kind": "satisfaction",
                             "options": ["满意", "基本满意", "不满意", "弃权"],
                             "tiers": {"base": tier_base, "boundary": boundary}}),
                }
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (
        rules_json(),
        6..13usize,
        1..400u64,
        0.0f64..=1.0,
        0.0f64..=1.0,
    )
        .prop_flat_map(|(rules, n_items, seated, p, e)| {
            let rules = Rules::from_json(rules.to_string().as_bytes()).expect("generated rules");
            let present = (seated as f64 * (0.5 + p / 2.0)).round() as u64;
            let enabled = (present as f64 * (0.8 + e / 5.0)).round() as u64;
            let options = rules.options.len();
            let items = (0..n_items).map(|i| format!("项目{i}")).collect::<Vec<_>>();
            let roll = Roll {
                seated,
                present,
                enabled: Some(enabled),
                cast: None,
            };
            prop::collection::vec(row(options, enabled), n_items).prop_map(move |counts| Case {
                rules: rules.clone(),
                items: items.clone(),
                roll,
                counts,
            })
        })
}

fn selected_set(o: &Outcome) -> Vec<String> {
    match &o.decision {
        VoteDecision::ProjectSelection { selected, .. } => {
            let mut s = selected.clone();
            s.sort();
            s
        }
        _ => Vec::new(),
    }
}

fn select_n(rules: &Rules) -> u32 {
    match rules.params {
        KindRules::ProjectSelection { select_n, .. } => select_n,
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn counts_add_up(case in case()) {
        // Every generated case is a possible vote, so the rules must accept it.
        let o = case.decide().expect("a possible vote is accepted");
        for (item, row) in o.items.iter().zip(&case.counts) {
            let sum: u64 = item.counts.iter().map(|(_, n)| n).sum();
            prop_assert_eq!(sum, row.iter().sum::<u64>());
            prop_assert_eq!(sum + item.not_voted, case.roll.enabled());
        }
        let head = format!("应到代表{}名，实到{}名", case.roll.seated, case.roll.present);
        prop_assert!(o.announcement.starts_with(&head), "{}", o.announcement);
    }

    #[test]
    fn order_of_items_does_not_matter(case in case(), seed in any::<u64>()) {
        let Some(before) = case.decide() else { return Ok(()) };
        let mut order: Vec<usize> = (0..case.items.len()).collect();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..order.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            order.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let shuffled = Case {
            items: order.iter().map(|&i| case.items[i].clone()).collect(),
            counts: order.iter().map(|&i| case.counts[i].clone()).collect(),
            ..case.clone()
        };
        let after = shuffled.decide().expect("same counts, other order");
        for item in &before.items {
            let other = after.items.iter().find(|o| o.item == item.item).expect("same items");
            prop_assert_eq!(&item.decision, &other.decision);
        }
        prop_assert_eq!(selected_set(&before), selected_set(&after));
        if let (VoteDecision::ProjectSelection { tie: t1, shortfall: s1, .. },
                VoteDecision::ProjectSelection { tie: t2, shortfall: s2, .. }) = (&before.decision, &after.decision) {
            let seats = |t: &Option<piaojue_core::rules::Tie>| t.as_ref().map(|t| { let mut i = t.items.clone(); i.sort(); (i, t.seats) });
            prop_assert_eq!(seats(t1), seats(t2));
            prop_assert_eq!(s1, s2);
        }
    }

    #[test]
    fn one_more_yes_never_hurts(case in case(), pick in any::<prop::sample::Index>()) {
        if case.rules.kind == Kind::Satisfaction { return Ok(()) }
        let Some(before) = case.decide() else { return Ok(()) };
        let i = pick.index(case.items.len());
        let mut counts = case.counts.clone();
        let cast: u64 = counts[i].iter().sum();
        if cast < case.roll.enabled() {
            counts[i][0] += 1; // a deputy who had not pressed now votes yes
        } else if counts[i][1] > 0 {
            counts[i][1] -= 1; counts[i][0] += 1; // a no becomes a yes
        } else {
            return Ok(());
        }
        let after = Case { counts, ..case.clone() };
        let Some(after) = after.decide() else { return Ok(()) }; // e.g. max_yes now exceeded
        match (&before.items[i].decision, &after.items[i].decision) {
            (ItemDecision::Motion { passed: true }, ItemDecision::Motion { passed }) => prop_assert!(*passed),
            (ItemDecision::ProjectSelection { selected: true, .. }, ItemDecision::ProjectSelection { selected, .. }) => prop_assert!(*selected),
            (ItemDecision::ProjectSelection { meets_majority: true, .. }, ItemDecision::ProjectSelection { meets_majority, .. }) => prop_assert!(*meets_majority),
            _ => {}
        }
    }

    #[test]
    fn selection_respects_select_n_and_shortfall(case in case()) {
        let Some(o) = case.decide() else { return Ok(()) };
        let VoteDecision::ProjectSelection { selected, tie, shortfall } = &o.decision else { return Ok(()) };
        let n = select_n(&case.rules);
        let include_all = matches!(case.rules.params, KindRules::ProjectSelection { tie_rule: piaojue_core::rules::TieRule::IncludeAllTied, .. });
        if !include_all {
            prop_assert!(selected.len() as u32 <= n);
        }
        let seats = tie.as_ref().map_or(0, |t| t.seats);
        prop_assert_eq!(*shortfall as i64, (n as i64 - selected.len() as i64 - seats as i64).max(0));
        if let Some(t) = tie {
            prop_assert!(t.seats >= 1 && (t.seats as usize) < t.items.len());
        }
        // Every adopted candidate meets the majority and out-polls every candidate left out.
        for item in &o.items {
            let ItemDecision::ProjectSelection { meets_majority, selected: sel, tied, .. } = item.decision else { unreachable!() };
            prop_assert_eq!(sel, selected.contains(&item.item));
            if sel { prop_assert!(meets_majority && !tied); }
            for other in &o.items {
                let ItemDecision::ProjectSelection { selected: osel, tied: otied, .. } = other.decision else { unreachable!() };
                if sel && !osel && !otied && o.quorum_met {
                    let other_meets = matches!(other.decision, ItemDecision::ProjectSelection { meets_majority: true, .. });
                    prop_assert!(item.counts[0].1 >= other.counts[0].1 || !other_meets, "{} vs {}", item.item, other.item);
                }
            }
        }
    }

    #[test]
    fn satisfaction_rates_are_rates(case in case()) {
        let Some(o) = case.decide() else { return Ok(()) };
        for item in &o.items {
            if let ItemDecision::Satisfaction { valid, rates, .. } = &item.decision {
                for r in [rates.satisfied, rates.basically_satisfied, rates.overall, rates.dissatisfied] {
                    prop_assert!((0.0..=1.0).contains(&r));
                }
                if *valid > 0 {
                    prop_assert!((rates.satisfied + rates.basically_satisfied - rates.overall).abs() < 1e-9);
                    prop_assert!((rates.overall + rates.dissatisfied - 1.0).abs() < 1e-9);
                }
            }
        }
    }

    /// Hostile bytes never panic the parser: each is an outcome or a named refusal.
    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = TallyInput::parse(&bytes);
    }

    #[test]
    fn mutated_valid_input_never_panics(case in case(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let text = serde_json::to_vec(&json!({
            "rules": {"kind": "motion"},
            "items": case.items, "roll": {"seated": case.roll.seated, "present": case.roll.present},
            "counts": case.counts.iter().map(|r| r.iter().take(3).copied().collect::<Vec<_>>()).collect::<Vec<_>>(),
        })).expect("json");
        let mut bytes = text.clone();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(input) = TallyInput::parse(&bytes) {
            let _ = input.decide();
        }
    }
}
