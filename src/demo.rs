//! `serve --demo`'s encrypted mode on one machine: three simulated scrutineers (k = 2) hold
//! the ceremony when the demo is created, and a simulated credential officer and those
//! scrutineers then act by themselves: the officer signs a vote's roll call when the
//! secretariat opens it and its closing roll call after the close, the scrutineers decrypt.
//! Every message goes through the same checks as from the real programs (`officer`,
//! `scrutineer`); only the people are simulated. **Demo only**: their secrets lie in
//! `DATA/demo/` in the clear (`e2e-demo-secrets.json`, `card-seeds.csv`), which no real
//! session may ever do, and the demo officer's cast count is the appliance's own n_cast
//! instead of a count of cast notices (a real officer counts the notices, §7.3).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use piaojue_core::e2e::ceremony::{self, Message, SystemSource};
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::decryption::{Close, RollCall, Statement};
use piaojue_core::e2e::group::decode_scalar;
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionParams, VoteManifest, VoteParams};
use piaojue_core::rules::Rules;
use piaojue_core::rules::encrypted::form_for;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::session::{Mode, Presence, Session, VoteState};

const SECRETS: &str = "e2e-demo-secrets.json";
/// The deputies' card seeds (deputy id, seed hex, as printed): the loadtest's tablets use them.
pub const CARD_SEEDS: &str = "card-seeds.csv";
const GUARDIANS: u64 = 3;
const THRESHOLD: u64 = 2;

fn random32() -> Result<[u8; 32], String> {
    piaojue_core::crypto::random::<32>().map_err(|e| e.to_string())
}

/// The simulated people's secrets.
pub struct Actors {
    officer: [u8; 32],
    /// (index, identity seed, key share z).
    guardians: Vec<(u64, [u8; 32], Zeroizing<[u8; 32]>)>,
    /// Card seed by deputy id.
    cards: HashMap<String, [u8; 32]>,
    /// `DATA/demo/`.
    dir: std::path::PathBuf,
}

impl std::fmt::Debug for Actors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actors")
            .field("guardians", &self.guardians.len())
            .field("cards", &self.cards.len())
            .finish_non_exhaustive()
    }
}

impl Actors {
    /// Reads them back from `DATA/demo/`.
    pub fn load(demo: &Path) -> Result<Actors, String> {
        let text = std::fs::read(demo.join(SECRETS)).map_err(|e| format!("{SECRETS}: {e}"))?;
        let v: Value = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
        let h32 = |v: &Value, f: &str| {
            hex::decode_array::<32>(v.as_str().unwrap_or(""), f).map_err(|e| e.to_string())
        };
        let officer = h32(&v["officer_seed"], "officer_seed")?;
        let mut guardians = Vec::new();
        for g in v["guardians"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            guardians.push((
                g["index"].as_u64().ok_or("guardians.index")?,
                h32(&g["seed"], "seed")?,
                Zeroizing::new(h32(&g["z"], "z")?),
            ));
        }
        let cards = card_seeds(demo)?;
        Ok(Actors {
            officer,
            guardians,
            cards,
            dir: demo.to_path_buf(),
        })
    }
}

/// At the demo's creation: the session manifest (k = 2 of 3 simulated scrutineers, the
/// simulated officer, this appliance, the booth's hash), the key ceremony run through the
/// board, and a card seed per deputy.
pub async fn setup(session: &Session, demo: &Path, deputies: &[String]) -> Result<(), String> {
    let officer = random32()?;
    let seeds: Vec<[u8; 32]> = (0..GUARDIANS)
        .map(|_| random32())
        .collect::<Result<_, _>>()?;
    let ids: Vec<SigningIdentity> = seeds.iter().map(SigningIdentity::from_seed).collect();
    let appliance_key = piaojue_core::crypto::public_key(&session.store().meta().public_key)
        .map_err(|e| e.to_string())?;
    let manifest = SessionParams {
        election_id: "piaojue-demo".into(),
        radix: 4096,
        max_electorate: (deputies.len() as u64).clamp(1, 4095),
        guardian_ids: ids.iter().map(SigningIdentity::public_key).collect(),
        k: THRESHOLD,
        credential_officer: SigningIdentity::from_seed(&officer).public_key(),
        appliance_key,
        booth_hash: crate::web::booth::booth_hash(),
    }
    .build()
    .map_err(|e| e.to_string())?;
    session
        .publish_manifest(manifest.bytes().to_vec())
        .await
        .map_err(|e| e.to_string())?;
    let post = |m: Message| {
        let body = serde_json::to_vec(&m.to_json(1)).unwrap_or_default();
        async move {
            session
                .post_board(&body)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    let board = session.board_snapshot().await.map_err(|e| e.to_string())?;
    let cc = board.current().cc;
    let mut secrets = Vec::new();
    for (i, id) in (1..=GUARDIANS).zip(&ids) {
        let (r1, s) = ceremony::make_round1(&cc, i, THRESHOLD, id, &mut SystemSource)
            .map_err(|e| e.to_string())?;
        post(Message::Round1(r1)).await?;
        secrets.push(s);
    }
    let board = session.board_snapshot().await.map_err(|e| e.to_string())?;
    for (i, (id, s)) in (1..=GUARDIANS).zip(ids.iter().zip(&secrets)) {
        for r2 in ceremony::make_round2(board.current(), i, s, id, &mut SystemSource)
            .map_err(|e| e.to_string())?
        {
            post(Message::Round2(r2)).await?;
        }
    }
    let board = session.board_snapshot().await.map_err(|e| e.to_string())?;
    let a = board.current();
    let announcement = a.announcement().ok_or("no announcement")?;
    let mut shares = Vec::new();
    for (i, (id, s)) in (1..=GUARDIANS).zip(ids.iter().zip(&secrets)) {
        let z = ceremony::finish(a, i, s).map_err(|e| format!("{e:?}"))?;
        shares.push(Zeroizing::new(z.to_bytes()));
        post(Message::KeyAnnounce {
            guardian: i,
            sig: id.sign(&announcement),
        })
        .await?;
    }
    let guardians: Vec<Value> = (1..=GUARDIANS)
        .zip(seeds.iter().zip(&shares))
        .map(|(i, (seed, z))| json!({ "index": i, "seed": hex::encode(seed), "z": hex::encode(z.as_slice()) }))
        .collect();
    let doc = json!({
        "warning": "演示专用：模拟监票人和证件官的私钥。真实会议绝不能这样保存。DEMO ONLY: simulated secrets in the clear.",
        "officer_seed": hex::encode(&officer),
        "guardians": guardians,
    });
    crate::vault::write_private(
        &demo.join(SECRETS),
        &serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let mut csv = String::from("deputy,seed,printed\n");
    for d in deputies {
        let seed = random32()?;
        csv.push_str(&format!(
            "{d},{},{}\n",
            hex::encode(&seed),
            piaojue_core::crypto::printed_seed(&seed)
        ));
    }
    crate::vault::write_private(&demo.join(CARD_SEEDS), csv.as_bytes()).map_err(|e| e.to_string())
}

/// Runs the simulated officer and scrutineers until the appliance stops.
pub async fn run(session: Session, demo: PathBuf) {
    let actors = match Actors::load(&demo) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "the demo's simulated scrutineers and officer are not set up");
            return;
        }
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(300));
    loop {
        tick.tick().await;
        if let Err(e) = step(&session, &actors).await {
            tracing::warn!(error = %e, "demo actors");
        }
    }
}

/// One look at every encrypted vote: what the simulated people would do now, they do.
async fn step(session: &Session, actors: &Actors) -> Result<(), String> {
    let votes = session.store().votes().map_err(|e| e.to_string())?;
    for vote in votes.iter().filter(|v| v.mode == Mode::Encrypted) {
        let id = vote.id.as_str();
        let e = |x: piaojue_core::refusal::Refusal| format!("{id}: {x}");
        match vote.state {
            VoteState::Draft if vote.awaiting_roll_call => open(session, actors, vote).await?,
            VoteState::Closed | VoteState::Announced => {
                let store = session.store();
                if store.e2e_get(id, b"roll_close").map_err(e)?.is_none() {
                    close_roll_call(session, actors, id).await?;
                } else if store.e2e_get(id, b"result").map_err(e)?.is_none()
                    && !absent_scrutineers(&actors.dir).contains(id)
                {
                    decrypt(session, actors, id).await?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn officer_roll(
    actors: &Actors,
    sm: &piaojue_core::e2e::manifest::SessionManifest,
    vm: &VoteManifest,
    creds: Vec<[u8; 32]>,
    cast: u64,
) -> RollCall {
    RollCall::sign(
        &SigningIdentity::from_seed(&actors.officer),
        sm,
        vm,
        creds,
        cast,
    )
}

async fn open(
    session: &Session,
    actors: &Actors,
    vote: &crate::session::Vote,
) -> Result<(), String> {
    let sm = session
        .e2e_session_manifest()
        .await
        .map_err(|e| e.to_string())?;
    let adopted = session
        .store()
        .rules(&vote.rules_sha256)
        .map_err(|e| e.to_string())?
        .ok_or("rules")?;
    let rules = Rules::from_json(adopted.document.as_bytes()).map_err(|e| e.to_string())?;
    let rules = vote.rules_under(&rules).map_err(|e| e.to_string())?;
    let form = form_for(&rules, vote.items.len())?;
    let vm = VoteParams {
        vote_id: vote.id.to_string(),
        vote_type: form.vote_type,
        items: vote.items.clone(),
        max_yes: form.max_yes,
        options: form.options.clone(),
        nonce: piaojue_core::crypto::random::<16>().map_err(|e| e.to_string())?,
    }
    .build(&sm)
    .map_err(|e| e.to_string())?;
    let mut creds: Vec<[u8; 32]> = session
        .store()
        .deputies()
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|d| d.presence == Presence::Present)
        .filter_map(|d| actors.cards.get(d.id.as_str()))
        .map(|seed| SigningIdentity::derive_credential(seed, sm.hash(), &vm.vote_id).public_key())
        .collect();
    creds.sort_unstable();
    let roll = officer_roll(actors, &sm, &vm, creds, 0);
    session
        .e2e_open(&json!({ "vote_manifest": hex::encode(vm.bytes()), "roll_call": roll.to_json() }))
        .await
        .map(|_| ())
        .map_err(|e| format!("{}: the officer's roll call: {e}", vote.id))
}

async fn close_roll_call(session: &Session, actors: &Actors, id: &str) -> Result<(), String> {
    let store = session.store();
    let Some(close) = store.e2e_get(id, b"close").map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let close: Value = serde_json::from_slice(&close).map_err(|e| e.to_string())?;
    let close = Close::from_json(&close, "close").map_err(|e| e.to_string())?;
    let sm = session
        .e2e_session_manifest()
        .await
        .map_err(|e| e.to_string())?;
    let vmb = store
        .e2e_get(id, b"manifest")
        .map_err(|e| e.to_string())?
        .ok_or("manifest")?;
    let vm = VoteManifest::parse(&vmb, &sm).map_err(|e| e.to_string())?;
    let open: Value = store
        .e2e_get(id, b"roll_open")
        .map_err(|e| e.to_string())?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("roll_open")?;
    let open = RollCall::from_json(&open, "roll_open").map_err(|e| e.to_string())?;
    let roll = officer_roll(actors, &sm, &vm, open.credentials, close.n_cast);
    session
        .e2e_roll_call(id, &roll.to_json())
        .await
        .map(|_| ())
        .map_err(|e| format!("{id}: the closing roll call: {e}"))
}

async fn decrypt(session: &Session, actors: &Actors, id: &str) -> Result<(), String> {
    let (sm, board, key) = session.e2e_completed().await.map_err(|e| e.to_string())?;
    let store = session.store();
    let vmb = store
        .e2e_get(id, b"manifest")
        .map_err(|e| e.to_string())?
        .ok_or("manifest")?;
    let vm = VoteManifest::parse(&vmb, &sm).map_err(|e| e.to_string())?;
    let close: Value = store
        .e2e_get(id, b"close")
        .map_err(|e| e.to_string())?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("close")?;
    let close = Close::from_json(&close, "close").map_err(|e| e.to_string())?;
    let totals = session.e2e_totals(id).map_err(|e| e.to_string())?;
    let a = board.current();
    // Two of the three decrypt: the third is "absent", as a real hall may have one.
    for (g, seed, z) in actors.guardians.iter().take(THRESHOLD as usize) {
        let mut pk = b"p/".to_vec();
        pk.extend_from_slice(&g.to_be_bytes());
        if store.e2e_get(id, &pk).map_err(|e| e.to_string())?.is_some() {
            continue;
        }
        let z_pub = a.verification_key(*g).ok_or("no Z")?;
        let z = decode_scalar(z.as_slice(), "z").map_err(|e| e.to_string())?;
        let st = Statement {
            session: &sm,
            vote: &vm,
            key: key.element(),
            cc: &a.cc,
            list_hash: &close.list_hash,
            n_cast: close.n_cast,
            totals: &totals,
        };
        let p = st
            .decrypt(
                *g,
                &z,
                &z_pub,
                &SigningIdentity::from_seed(seed),
                &mut SystemSource,
            )
            .map_err(|e| e.to_string())?;
        session
            .e2e_partial(id, &p.to_json())
            .await
            .map_err(|e| format!("{id}: guardian {g}'s partial: {e}"))?;
    }
    Ok(())
}

/// The votes for which the demo's simulated scrutineers stay away (演示：监票人缺席): their
/// decryption never completes, so a trainer can show 宣告表决失败. One vote id per line.
const ABSENT_FILE: &str = "absent-scrutineers";

/// The votes the simulated scrutineers will not decrypt.
pub fn absent_scrutineers(demo: &Path) -> std::collections::HashSet<String> {
    std::fs::read_to_string(demo.join(ABSENT_FILE))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Keeps the simulated scrutineers away from `vote` (written and fsynced before it answers).
pub fn keep_scrutineers_away(demo: &Path, vote: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(demo.join(ABSENT_FILE))
        .map_err(|e| e.to_string())?;
    writeln!(f, "{vote}")
        .and_then(|()| f.sync_all())
        .map_err(|e| e.to_string())
}

/// A simulated deputy's choices (encoding indices): valid under the vote manifest, leaning
/// towards the yes option so results look like real ones (as the plain demo's).
pub fn random_choices(vm: &VoteManifest) -> Result<Vec<usize>, String> {
    use piaojue_core::e2e::packing::VoteType;
    let shape = vm.shape();
    let (m, l) = (shape.m(), shape.l());
    let (yes, cap) = match shape.vote_type() {
        VoteType::Motion => (Some(2), m),
        VoteType::PerItem => (Some(2), shape.max_yes()),
        VoteType::ApproveUpToN => (Some(1), shape.max_yes()),
        VoteType::Satisfaction => (None, m),
    };
    let random = piaojue_core::crypto::random::<64>().map_err(|e| e.to_string())?;
    let mut said_yes = 0;
    let mut out = Vec::with_capacity(m);
    for i in 0..m {
        let r = usize::from(random[i % 64] ^ (i as u8).wrapping_mul(31));
        let mut c = match yes {
            Some(y) if r % 3 != 0 => y,
            _ => (r / 3) % l,
        };
        if Some(c) == yes {
            if said_yes >= cap {
                c = 0;
            } else {
                said_yes += 1;
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// A simulated tablet's encrypted ballot (the demo's 模拟投票 and `loadtest --encrypted`):
/// `choices` encrypted and proved with the per-vote credential of `card`, as the booth does.
pub fn simulated_ballot(
    sm: &piaojue_core::e2e::manifest::SessionManifest,
    vm: &VoteManifest,
    key: &piaojue_core::e2e::elgamal::JointKey,
    card: &[u8; 32],
    choices: &[usize],
) -> Result<Value, String> {
    let cred = SigningIdentity::derive_credential(card, sm.hash(), &vm.vote_id);
    let (ballot, _) = piaojue_core::e2e::ballot::prove_ballot(
        &piaojue_core::e2e::ballot::VoteContext {
            manifest_hash: sm.hash(),
            vote: vm,
            key,
        },
        &cred,
        choices,
        &mut SystemSource,
    )
    .map_err(|e| e.to_string())?;
    Ok(ballot.to_json(&vm.vote_id, vm.shape()))
}

/// The demo's card seeds by deputy id, as `DATA/demo/card-seeds.csv` lists them.
pub fn card_seeds(demo: &Path) -> Result<HashMap<String, [u8; 32]>, String> {
    let path = demo.join(CARD_SEEDS);
    let csv = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut cards = HashMap::new();
    for line in csv.lines().skip(1) {
        let mut f = line.split(',');
        if let (Some(d), Some(s)) = (f.next(), f.next()) {
            cards.insert(
                d.to_string(),
                hex::decode_array::<32>(s, "seed").map_err(|e| e.to_string())?,
            );
        }
    }
    Ok(cards)
}

/// The demo's 模拟投票 on an encrypted vote: every enabled deputy who has not cast yet casts
/// a simulated ballot, through the same checks as a tablet's. Returns how many were cast.
pub async fn simulate(session: &Session, demo: &Path, vote: &str) -> Result<u64, String> {
    let actors = Actors::load(demo)?;
    let (sm, _, key) = session.e2e_completed().await.map_err(|e| e.to_string())?;
    let store = session.store();
    let v = store
        .vote(vote)
        .map_err(|e| e.to_string())?
        .ok_or("no such vote")?;
    if v.mode != Mode::Encrypted {
        return Err("not an encrypted vote".into());
    }
    let vmb = store
        .e2e_get(vote, b"manifest")
        .map_err(|e| e.to_string())?
        .ok_or("the vote is not open (no roll call yet)")?;
    let vm = VoteManifest::parse(&vmb, &sm).map_err(|e| e.to_string())?;
    let open: Value = store
        .e2e_get(vote, b"roll_open")
        .map_err(|e| e.to_string())?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("roll_open")?;
    let enabled = RollCall::from_json(&open, "roll_open")
        .map_err(|e| e.to_string())?
        .credentials;
    let used: std::collections::HashSet<String> = store
        .e2e_scan(vote, b"b/")
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(|(_, b)| serde_json::from_slice::<Value>(b).ok())
        .filter_map(|b| b["cred_pk"].as_str().map(str::to_owned))
        .collect();
    let mut cast = 0;
    for card in actors.cards.values() {
        let cred = SigningIdentity::derive_credential(card, sm.hash(), vote).public_key();
        if !enabled.contains(&cred) || used.contains(&hex::encode(&cred)) {
            continue;
        }
        let (sm2, vm2, key2, card2) = (sm.clone(), vm.clone(), key.clone(), *card);
        let ballot = tokio::task::spawn_blocking(move || {
            simulated_ballot(&sm2, &vm2, &key2, &card2, &random_choices(&vm2)?)
        })
        .await
        .map_err(|e| e.to_string())??;
        session
            .e2e_cast(vote, ballot)
            .await
            .map_err(|e| e.to_string())?;
        cast += 1;
    }
    Ok(cast)
}

/// Last year's (2025) candidates: the first five were adopted, the last two were not.
pub const LAST_YEAR_CANDIDATES: [&str; 7] = [
    "教育惠民工程",
    "老年护理照料中心",
    "城乡供水一体化",
    "农贸市场改造",
    "全民健身场地建设",
    "城区夜景亮化",
    "乡镇文化站提升",
];

/// The demo's "last year": a real 票决 of 2025's candidates on a demo appliance of its own in
/// `dir` (a key made now), run through the session as tablets would; returns its signed
/// bundle, from which this year's 测评 is built (人大评). The directory is removed after.
pub async fn last_year_bundle(dir: &Path, rules: &[u8]) -> Result<Vec<u8>, String> {
    const DEPUTIES: usize = 60;
    crate::appliance::init_session(
        dir,
        "某县第十八届人民代表大会第二次会议（演示）",
        None,
        &[],
        true,
    )
    .map_err(|e| e.to_string())?;
    let key = std::sync::Arc::new(crate::appliance::load_key(dir).map_err(|e| e.to_string())?);
    let store = crate::store::Store::open(dir, &key.public_hex()).map_err(|e| e.to_string())?;
    let session = Session::new(store, key);
    let e = |e: piaojue_core::refusal::Refusal| e.to_string();
    let roster = crate::appliance::demo_roster(DEPUTIES);
    session.import_roster(roster.clone()).await.map_err(e)?;
    for d in &roster {
        session
            .set_presence(
                d.id.clone(),
                Presence::Present,
                crate::store::Actor::Operator,
                Some("到会".into()),
            )
            .await
            .map_err(e)?;
    }
    let adopted = session.adopt_rules(rules.to_vec()).await.map_err(e)?;
    let vote = session
        .create_vote(
            "2025年县政府民生实事项目票决".into(),
            adopted.sha256,
            LAST_YEAR_CANDIDATES
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            Some(Mode::Plain),
        )
        .await
        .map_err(e)?;
    session.open_vote(vote.id.clone()).await.map_err(e)?;
    // 赞成 per candidate: five above half of the 60 seated, two below; at most 5 per ballot.
    let yes = [55usize, 52, 49, 44, 40, 25, 18];
    let mut room = vec![5usize; DEPUTIES];
    let mut ballots = vec![vec![1u8; yes.len()]; DEPUTIES];
    for (item, &n) in yes.iter().enumerate() {
        let mut order: Vec<usize> = (0..DEPUTIES).collect();
        order.sort_by_key(|&d| (std::cmp::Reverse(room[d]), d));
        for &d in order.iter().take(n) {
            room[d] -= 1;
            ballots[d][item] = 0;
        }
    }
    for (d, choices) in roster.iter().zip(ballots) {
        let ballot_id = piaojue_core::crypto::hex(
            &piaojue_core::crypto::random::<16>().map_err(|e| e.to_string())?,
        );
        session
            .cast(
                &vote.id,
                &d.id,
                piaojue_core::ballot::CastRequest {
                    vote_id: vote.id.to_string(),
                    ballot_id,
                    choices,
                },
            )
            .await
            .map_err(e)?;
    }
    session.close_vote(vote.id.clone()).await.map_err(e)?;
    session.announce_vote(vote.id.clone()).await.map_err(e)?;
    let bytes = session.bundle_bytes(vote.id.as_str()).await.map_err(e)?;
    drop(session);
    let _ = std::fs::remove_dir_all(dir);
    Ok(bytes)
}
