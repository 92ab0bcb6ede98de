//! Nothing links a deputy to the content of a secret ballot: not the store, not an answer.

use serde_json::json;

use crate::helpers::{Auth, TestApp, ballot_id};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_tree_or_answer_links_a_deputy_to_a_secret_ballot() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(30).await;
    let tablets = app.enrol_all().await;
    let items = ["一", "二", "三", "四", "五", "六"];
    let vote = app.create_vote("测评", &rules[1], &items).await;
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    // Thirty different ballots, cast in a known order.
    let mut cast_order = Vec::new();
    let mut receipts = Vec::new();
    for (k, (_, token)) in tablets.iter().enumerate() {
        let choices: Vec<u8> = (0..6).map(|i| ((k / 3usize.pow(i)) % 3) as u8).collect();
        let r = app
            .post(
                &format!("/api/tablet/votes/{vote}/cast"),
                Auth::Token(token),
                json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": choices }),
            )
            .await
            .ok();
        cast_order.push(choices);
        receipts.push(r["receipt_code"].as_str().unwrap().to_string());
    }

    let dump = app.store.dump();
    let ballots: Vec<_> = dump.iter().filter(|(t, _, _)| t == "ballots").collect();
    assert_eq!(ballots.len(), 30);
    let prefix = format!("{vote}\0");
    for (_, key, value) in &ballots {
        // A ballot is its choices under a random key: nothing else.
        assert_eq!(value.len(), 6);
        assert!(key.starts_with(prefix.as_bytes()));
        let slot = &key[prefix.len()..];
        assert_eq!(slot.len(), 16);
        for (tree, k, v) in dump.iter().filter(|(t, _, _)| t != "ballots") {
            assert!(
                !contains(k, slot) && !contains(v, slot),
                "{tree} holds a ballot's key"
            );
        }
        for code in &receipts {
            assert!(!contains(value, code.as_bytes()) && !contains(key, code.as_bytes()));
        }
    }
    // Storage order is not cast order.
    let stored: Vec<Vec<u8>> = app.store.ballots(&vote).unwrap();
    assert_ne!(
        stored, cast_order,
        "ballots must not be kept in the order they were cast"
    );
    let mut a = stored.clone();
    let mut b = cast_order.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "every ballot is there");
    // A cast mark says whether, never what; an audit entry of a cast names only the vote.
    for (tree, _, value) in &dump {
        let text = String::from_utf8_lossy(value);
        match tree.as_str() {
            "casts" => assert!(!text.contains("choices"), "{text}"),
            "audit" if text.contains(r#""action":"cast""#) => {
                assert!(
                    text.contains(&format!(r#""detail":{{"vote":"{vote}"}}"#)),
                    "{text}"
                )
            }
            _ => {}
        }
    }
    // Answers: the tablet sees its receipt, never choices; results carry no names.
    for (_, token) in &tablets {
        let me = app.get("/api/tablet/me", Auth::Token(token)).await.ok();
        assert!(!me.to_string().contains("choices"));
    }
    app.post(
        &format!("/api/operator/votes/{vote}/close"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let private = app
        .get(
            &format!("/api/operator/votes/{vote}/result"),
            Auth::Operator,
        )
        .await
        .ok();
    assert_eq!(private["named_choices"], serde_json::Value::Null);
    assert!(
        !private.to_string().contains("d00"),
        "no deputy id in a secret result"
    );
}
