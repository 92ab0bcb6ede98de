//! Walks SPEC-E2E's `e2e/vectors.json` (a copy in tests/data/e2e) byte for byte, plus
//! negative and property tests of the `e2e` module.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use curve25519_dalek::scalar::Scalar;
use piaojue_core::e2e::credential::{self, SigningIdentity};
use piaojue_core::e2e::drbg::{ScalarSource, TestDrbg};
use piaojue_core::e2e::elgamal::{self, Ciphertext, JointKey};
use piaojue_core::e2e::group::{self, Element};
use piaojue_core::e2e::proofs::{self, CdsProof, CdsStatement, Cz, DleqStatement};
use piaojue_core::e2e::transcript::{self, ProofLabel, Transcript};
use piaojue_core::e2e::{E2eError, hex};
use serde_json::Value;

const VECTORS: &str = include_str!("data/e2e/vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors parse")
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string"), "test").expect("strict hex")
}
fn h32(v: &Value) -> [u8; 32] {
    h(v).try_into().expect("32 bytes")
}
fn h64(v: &Value) -> [u8; 64] {
    h(v).try_into().expect("64 bytes")
}
fn pt(v: &Value) -> Element {
    Element::decode(&h(v), "test").expect("point")
}
fn sc(v: &Value) -> Scalar {
    group::decode_scalar(&h(v), "test").expect("scalar")
}
fn int_scalar(v: &Value) -> Scalar {
    let s = v.as_str().expect("decimal string");
    let n: u64 = s.parse().expect("small int");
    Scalar::from(n)
}
fn cz(v: &Value) -> Cz {
    Cz::from_hex(v[0].as_str().unwrap(), v[1].as_str().unwrap(), "test").unwrap()
}

// ---------------------------------------------------------------- §2 group, encodings

#[test]
fn points_multiples_of_g() {
    let v = vectors();
    for m in v["points"]["multiples_of_G"].as_array().unwrap() {
        let k = Scalar::from(m["k"].as_u64().unwrap());
        let p = Element::from_point(group::mul_base(&k));
        assert_eq!(p.to_bytes(), h32(&m["P"]), "k = {}", m["k"]);
        assert_eq!(pt(&m["P"]), p);
    }
    let lm1 = -Scalar::ONE;
    let p = Element::from_point(group::mul_base(&lm1));
    assert_eq!(
        p.to_bytes(),
        h32(&v["points"]["k_times_G_for_k_ell_minus_1"])
    );
    let id = pt(&v["points"]["identity"]);
    assert!(id.is_identity());
    assert_eq!(Element::generator().to_bytes(), group::G_ENCODING);
}

#[test]
fn points_invalid_encodings_rejected() {
    let v = vectors();
    let list = v["points"]["invalid_encodings_must_reject"]
        .as_array()
        .unwrap();
    assert_eq!(list.len(), 13);
    for e in list {
        let b = h(e);
        let err = Element::decode(&b, "p").unwrap_err();
        match err {
            E2eError::Length { .. }
            | E2eError::PointHighBit { .. }
            | E2eError::PointEncoding { .. } => {}
            other => panic!("unexpected error {other:?}"),
        }
    }
    // The two high-bit cases of §2.2 are rejected by the explicit check, with its own error.
    let mut g = group::G_ENCODING;
    g[31] |= 0x80;
    assert!(matches!(
        Element::decode(&g, "p"),
        Err(E2eError::PointHighBit { .. })
    ));
    let mut o = [0u8; 32];
    o[31] = 0x80;
    assert!(matches!(
        Element::decode(&o, "p"),
        Err(E2eError::PointHighBit { .. })
    ));
    // A 31-byte input names the length.
    assert!(matches!(
        Element::decode(&[0u8; 31], "p"),
        Err(E2eError::Length {
            expected: 32,
            got: 31,
            ..
        })
    ));
}

#[test]
fn identity_forbidden_has_its_own_error() {
    let err = Element::decode_non_identity(&[0u8; 32], "ballot.items[0].A").unwrap_err();
    assert_eq!(
        err,
        E2eError::IdentityForbidden {
            field: "ballot.items[0].A".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "ballot.items[0].A: identity point is forbidden here"
    );
    assert!(Element::decode(&[0u8; 32], "x").is_ok());
    let k = Element::identity();
    assert!(matches!(
        JointKey::new(k, "joint_key"),
        Err(E2eError::IdentityForbidden { .. })
    ));
}

#[test]
fn scalars_valid_and_invalid() {
    let v = vectors();
    for s in v["scalars"]["valid"].as_array().unwrap() {
        let got = sc(&s["hex"]);
        assert_eq!(group::scalar_hex(&got), s["hex"].as_str().unwrap());
    }
    // ℓ − 1
    assert_eq!(sc(&v["scalars"]["valid"][3]["hex"]), -Scalar::ONE);
    assert_eq!(sc(&v["scalars"]["valid"][2]["hex"]), Scalar::from(4096u64));
    for s in v["scalars"]["invalid_must_reject"].as_array().unwrap() {
        let err = group::decode_scalar(&h(s), "ballot.items[3].proof.c[1]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ballot.items[3].proof.c[1]: scalar not canonical"
        );
    }
    assert!(matches!(
        group::decode_scalar(&[0u8; 33], "s"),
        Err(E2eError::Length { .. })
    ));
}

#[test]
fn strict_hex() {
    assert_eq!(hex::decode("00ff", "f").unwrap(), vec![0, 255]);
    for bad in ["0", "0G", "00FF", " 00", "00 ", "0x00", "é0"] {
        assert!(hex::decode(bad, "f").is_err(), "{bad}");
    }
    assert!(hex::decode_exact("00", 2, "f").is_err());
    assert!(hex::decode_array::<2>("0000", "f").is_ok());
    assert_eq!(hex::encode(&[0xab, 0x01]), "ab01");
    let e = Element::from_hex(&"AB".repeat(32), "cred_pk").unwrap_err();
    assert!(matches!(e, E2eError::Hex { .. }));
}

// ---------------------------------------------------------------- §3 transcripts, §11 DRBG

#[test]
fn hash_to_scalar_vectors() {
    let v = vectors();
    for case in v["hash_to_scalar"].as_array().unwrap() {
        let mut t = Transcript::new(case["domain"].as_str().unwrap());
        for f in case["fields"].as_array().unwrap() {
            t = t.field(f[0].as_str().unwrap(), &h(&f[1]));
        }
        assert_eq!(t.as_bytes(), h(&case["transcript"]).as_slice());
        assert_eq!(t.h_bytes(), h64(&case["sha512"]));
        assert_eq!(t.h_scalar(), sc(&case["scalar"]));
    }
}

#[test]
fn test_drbg_vectors() {
    let v = vectors();
    let seed = v["test_drbg"]["seed_utf8"].as_str().unwrap();
    let mut d = TestDrbg::new(seed.as_bytes());
    for out in v["test_drbg"]["first_outputs"].as_array().unwrap() {
        assert_eq!(*d.next_scalar().unwrap(), sc(out));
    }
    assert_eq!(d.counter(), 3);
}

// ---------------------------------------------------------------- §4 ElGamal

#[test]
fn encryption_vectors() {
    let v = vectors();
    let e = &v["encryption"];
    let sk = sc(&e["sk"]);
    let pk = pt(&e["pk"]);
    assert_eq!(Element::from_point(group::mul_base(&sk)), pk);
    let key = JointKey::new(pk, "pk").unwrap();
    let r = sc(&e["r"]);
    let ct = elgamal::encrypt(&key, &Scalar::from(e["m"].as_u64().unwrap()), &r).unwrap();
    assert_eq!(ct.a, pt(&e["A"]));
    assert_eq!(ct.b, pt(&e["B"]));
    let ct2 = elgamal::encrypt(&key, &Scalar::from(4096u64), &sc(&e["m_4096"]["r"])).unwrap();
    assert_eq!(ct2.a, pt(&e["m_4096"]["A"]));
    assert_eq!(ct2.b, pt(&e["m_4096"]["B"]));
    // Decryption: B − sk·A = m·G.
    let mg = ct2.b.point() - sk * ct2.a.point();
    assert_eq!(mg, group::mul_base(&Scalar::from(4096u64)));
    assert!(elgamal::encrypt(&key, &Scalar::ONE, &Scalar::ZERO).is_err());
}

// ---------------------------------------------------------------- §5 proofs

fn cds_case(name: &str) {
    let v = vectors();
    let p = &v["proofs"][name];
    let ctx = h64(&p["ctx"]);
    assert_eq!(p["label"].as_str().unwrap(), "item");
    let key = JointKey::new(pt(&p["pk"]), "pk").unwrap();
    let ct = Ciphertext {
        a: pt(&p["A"]),
        b: pt(&p["B"]),
    };
    let values: Vec<Scalar> = p["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(int_scalar)
        .collect();
    let st = CdsStatement {
        ctx: &ctx,
        label: ProofLabel::Item,
        index: p["index"].as_u64().unwrap(),
        ct: &ct,
        values: &values,
    };
    let expected = CdsProof(p["proof"].as_array().unwrap().iter().map(cz).collect());
    assert!(proofs::cds_verify(&key, &st, &expected), "{name} verifies");
    let mut rng = TestDrbg::new(p["drbg_seed_utf8"].as_str().unwrap().as_bytes());
    let j = p["true_index"].as_u64().unwrap() as usize;
    let got = proofs::cds_prove(&key, &st, j, &sc(&p["r"]), &mut rng).unwrap();
    assert_eq!(got, expected, "{name} re-proved to identical bytes");
    assert_eq!(rng.counter(), 2 * values.len() as u64 - 1);
    // A proof does not transfer to another context, label or index.
    let mut ctx2 = ctx;
    ctx2[0] ^= 1;
    assert!(!proofs::cds_verify(
        &key,
        &CdsStatement { ctx: &ctx2, ..st },
        &expected
    ));
    assert!(!proofs::cds_verify(
        &key,
        &CdsStatement {
            label: ProofLabel::RangeBit,
            ..st
        },
        &expected
    ));
    assert!(!proofs::cds_verify(
        &key,
        &CdsStatement {
            index: st.index + 1,
            ..st
        },
        &expected
    ));
    // Tampering with any scalar breaks it.
    for i in 0..expected.0.len() {
        let mut t = expected.clone();
        t.0[i].z += Scalar::ONE;
        assert!(!proofs::cds_verify(&key, &st, &t));
        let mut t = expected.clone();
        t.0[i].c += Scalar::ONE;
        assert!(!proofs::cds_verify(&key, &st, &t));
    }
}

#[test]
fn proof_cds_01_true1() {
    cds_case("cds_01_true1");
}
#[test]
fn proof_cds_01_true0() {
    cds_case("cds_01_true0");
}
#[test]
fn proof_cds_3way_t() {
    cds_case("cds_3way_T");
}
#[test]
fn proof_cds_4way() {
    cds_case("cds_4way");
}

#[test]
fn proof_dleq() {
    let v = vectors();
    let p = &v["proofs"]["dleq"];
    let ctx = h64(&p["ctx"]);
    let (g, hh, x, y) = (pt(&p["g"]), pt(&p["h"]), pt(&p["X"]), pt(&p["Y"]));
    let st = DleqStatement {
        ctx: &ctx,
        label: ProofLabel::Partial,
        index: p["index"].as_u64().unwrap(),
        g: &g,
        h: &hh,
        x: &x,
        y: &y,
    };
    let expected = Cz {
        c: sc(&p["proof"][0]),
        z: sc(&p["proof"][1]),
    };
    assert!(proofs::dleq_verify(&st, &expected));
    let mut rng = TestDrbg::new(p["drbg_seed_utf8"].as_str().unwrap().as_bytes());
    let got = proofs::dleq_prove(&st, &sc(&p["x"]), &mut rng).unwrap();
    assert_eq!(got, expected);
    assert!(!proofs::dleq_verify(
        &DleqStatement { index: 1, ..st },
        &expected
    ));
    assert!(!proofs::dleq_verify(
        &DleqStatement {
            label: ProofLabel::Complaint,
            ..st
        },
        &expected
    ));
    assert!(!proofs::dleq_verify(
        &DleqStatement { x: &y, y: &x, ..st },
        &expected
    ));
}

#[test]
fn proof_schnorr() {
    let v = vectors();
    let p = &v["proofs"]["schnorr"];
    let ctx = h64(&p["ctx"]);
    let x = pt(&p["X"]);
    let expected = Cz {
        c: sc(&p["proof"][0]),
        z: sc(&p["proof"][1]),
    };
    let idx = p["index"].as_u64().unwrap();
    assert_eq!(idx, 256 + 1);
    assert!(proofs::schnorr_verify(
        &ctx,
        ProofLabel::Coeff,
        idx,
        &x,
        &expected
    ));
    let sk = sc(&v["encryption"]["sk"]);
    let mut rng = TestDrbg::new(p["drbg_seed_utf8"].as_str().unwrap().as_bytes());
    let got = proofs::schnorr_prove(&ctx, ProofLabel::Coeff, idx, &x, &sk, &mut rng).unwrap();
    assert_eq!(got, expected);
    assert!(!proofs::schnorr_verify(
        &ctx,
        ProofLabel::Transport,
        idx,
        &x,
        &expected
    ));
    assert!(!proofs::schnorr_verify(
        &ctx,
        ProofLabel::Coeff,
        idx,
        &Element::identity(),
        &expected
    ));
}

// ---------------------------------------------------------------- §7.4 strict Ed25519

#[test]
fn ed25519_strict_cases() {
    let v = vectors();
    let cases = v["ed25519_strict"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    let mut rejected = 0;
    for c in cases {
        let r = credential::verify_strict(&h(&c["pk"]), &h(&c["msg"]), &h(&c["sig"]));
        assert_eq!(
            r.is_ok(),
            c["valid"].as_bool().unwrap(),
            "case {}: {r:?}",
            c["case"]
        );
        if r.is_err() {
            rejected += 1;
        }
    }
    assert_eq!(rejected, 8);
}

#[test]
fn ed25519_sign_and_verify() {
    let id = SigningIdentity::from_seed(&[7u8; 32]);
    let sig = id.sign(b"m");
    assert!(credential::verify_strict(&id.public_key(), b"m", &sig).is_ok());
    assert!(credential::verify_strict(&id.public_key(), b"n", &sig).is_err());
    assert!(credential::verify_strict(&id.public_key(), b"m", &sig[..63]).is_err());
}

// ---------------------------------------------------------------- §8.3 share transport

#[test]
fn share_transport_vector() {
    use piaojue_core::e2e::transport;
    let v = vectors();
    let s = &v["share_transport"];
    let cc = h64(&s["ceremony_ctx"]);
    let (from, to) = (s["from"].as_u64().unwrap(), s["to"].as_u64().unwrap());
    let d = sc(&s["recipient_d"]);
    let d_pub = pt(&s["recipient_D"]);
    assert_eq!(Element::from_point(group::mul_base(&d)), d_pub);
    let e = sc(&s["ephemeral_e"]);
    let share = sc(&s["share"]);
    let big_e = Element::from_point(group::mul_base(&e));
    let info = transcript::dkg_share_info(from, to, big_e.as_bytes(), d_pub.as_bytes());
    assert_eq!(info, h(&s["info"]));
    let shared = (e * d_pub.point()).compress().to_bytes();
    let key = transport::derive_key(&cc, &shared, &info).unwrap();
    assert_eq!(*key, h32(&s["key"]));
    let blob = transport::seal_share(&cc, from, to, &d_pub, &e, &share).unwrap();
    assert_eq!(blob.to_vec(), h(&s["blob"]));
    let got = transport::open_share(&cc, from, to, &d, &d_pub, &blob).unwrap();
    assert_eq!(*got, share);
    // Redirected, tampered or truncated blobs fail.
    assert!(transport::open_share(&cc, from, 3, &d, &d_pub, &blob).is_err());
    assert!(transport::open_share(&cc, 3, to, &d, &d_pub, &blob).is_err());
    let mut t = blob;
    t[40] ^= 1;
    assert!(transport::open_share(&cc, from, to, &d, &d_pub, &t).is_err());
    assert!(matches!(
        transport::open_share(&cc, from, to, &d, &d_pub, &blob[..79]),
        Err(E2eError::Length { .. })
    ));
    let mut o = blob;
    o[..32].fill(0);
    assert!(matches!(
        transport::open_share(&cc, from, to, &d, &d_pub, &o),
        Err(E2eError::IdentityForbidden { .. })
    ));
}

// ---------------------------------------------------------------- tiny_election (§11)

mod tiny {
    use super::*;
    use piaojue_core::e2e::ballot::{self, Ballot, VoteContext};
    use piaojue_core::e2e::manifest::{SessionManifest, VoteManifest};
    use piaojue_core::e2e::tally::{self, DlogTable, PartialShare};
    use piaojue_core::e2e::transport;

    fn hs(v: &Value) -> Vec<u8> {
        h(v)
    }

    fn draws_per_ballot(shape: &piaojue_core::e2e::packing::Shape) -> u64 {
        let m = shape.m() as u64;
        let l = shape.l() as u64;
        let nb = shape.nbits() as u64;
        m + nb + m * (2 * l - 1) + nb * 3 + u64::from(nb > 0)
    }

    #[test]
    fn tiny_election_bundle() {
        let v = vectors();
        let te = &v["tiny_election"];
        let b = &te["bundle"];
        let seed = te["drbg_seed_utf8"].as_str().unwrap().as_bytes().to_vec();
        let mut drbg = TestDrbg::new(&seed);

        // Session manifest (V1).
        let sm = SessionManifest::parse(&hs(&b["manifest_hex"])).unwrap();
        assert_eq!(sm.hash(), &h32(&b["manifest_hash"]));
        let mh = *sm.hash();
        assert_eq!(sm.radix, 4096);

        // Test identities: guardians 1..n, officer, appliance.
        for (i, id) in sm.guardian_ids.iter().enumerate() {
            let s = piaojue_core::e2e::drbg::test_key_seed(&seed, "guardian", i as u64 + 1);
            assert_eq!(SigningIdentity::from_seed(&s).public_key(), *id);
        }

        // Ceremony: cc, round 1 (signatures, Schnorr proofs), joint key, fingerprint.
        let cer = &b["ceremony"];
        let attempt = cer["attempt"].as_u64().unwrap();
        let participants: Vec<u64> = cer["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        let cc = transcript::ceremony_ctx(&mh, attempt, sm.k, &sm.guardian_ids, &participants);
        assert_eq!(cc, h64(&te["ceremony_ctx"]));
        let mut commitments: Vec<Vec<Element>> = Vec::new();
        let mut transport_keys = Vec::new();
        let mut round1_cat = Vec::new();
        for r1 in cer["round1"].as_array().unwrap() {
            let idx = r1["index"].as_u64().unwrap();
            let tk = Element::from_hex_non_identity(r1["transport_key"].as_str().unwrap(), "tk")
                .unwrap();
            let tpok = cz(&r1["transport_pok"]);
            assert!(proofs::schnorr_verify(
                &cc,
                ProofLabel::Transport,
                idx,
                &tk,
                &tpok
            ));
            let ks: Vec<Element> = r1["commitments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| Element::from_hex_non_identity(k.as_str().unwrap(), "K").unwrap())
                .collect();
            let poks: Vec<Cz> = r1["coeff_poks"]
                .as_array()
                .unwrap()
                .iter()
                .map(cz)
                .collect();
            assert_eq!(ks.len() as u64, sm.k);
            let mut kcat = Vec::new();
            let mut pcat = Vec::new();
            for (j, (k, p)) in ks.iter().zip(poks.iter()).enumerate() {
                assert!(proofs::schnorr_verify(
                    &cc,
                    ProofLabel::Coeff,
                    256 * idx + j as u64,
                    k,
                    p
                ));
                kcat.extend_from_slice(k.as_bytes());
                pcat.extend_from_slice(&p.to_bytes());
            }
            let msg = transcript::dkg_round1_message(
                &cc,
                idx,
                tk.as_bytes(),
                &tpok.to_bytes(),
                &kcat,
                &pcat,
            );
            credential::verify_strict(&sm.guardian_ids[idx as usize - 1], &msg, &h(&r1["sig"]))
                .unwrap();
            round1_cat.extend_from_slice(&msg);
            commitments.push(ks);
            transport_keys.push(tk);
        }
        let k_elem = tally::joint_key(&commitments).unwrap();
        assert_eq!(k_elem, pt(&b["joint_key"]));
        let round1_hash = transcript::sha256(&round1_cat);
        let announce = transcript::key_announce_message(&cc, k_elem.as_bytes(), &round1_hash);
        for (i, sig) in cer["key_sigs"].as_object().unwrap() {
            let i: usize = i.parse().unwrap();
            credential::verify_strict(&sm.guardian_ids[i - 1], &announce, &h(sig)).unwrap();
        }
        assert_eq!(
            ballot::short_code(&transcript::sha256(&announce)),
            te["key_fingerprint"].as_str().unwrap()
        );

        // Round-1 randomness from the DRBG: d_i, a_{i,0..k-1}, transport nonce, coeff nonces.
        let secrets = &te["test_secrets"];
        let mut coeffs: Vec<Vec<Scalar>> = Vec::new();
        for i in 1..=sm.n() {
            let d = drbg.next_scalar().unwrap();
            assert_eq!(*d, sc(&secrets["guardian_transport_d"][i.to_string()]));
            let mut a = Vec::new();
            for j in 0..sm.k as usize {
                let aij = drbg.next_scalar().unwrap();
                assert_eq!(*aij, sc(&secrets["guardian_coeffs"][i.to_string()][j]));
                a.push(*aij);
            }
            // Re-prove the round-1 Schnorr proofs to identical bytes.
            let r1 = &cer["round1"][i as usize - 1];
            let tk = transport_keys[i as usize - 1];
            let p =
                proofs::schnorr_prove(&cc, ProofLabel::Transport, i, &tk, &d, &mut drbg).unwrap();
            assert_eq!(p, cz(&r1["transport_pok"]));
            for (j, aij) in a.iter().enumerate() {
                let p = proofs::schnorr_prove(
                    &cc,
                    ProofLabel::Coeff,
                    256 * i + j as u64,
                    &commitments[i as usize - 1][j],
                    aij,
                    &mut drbg,
                )
                .unwrap();
                assert_eq!(p, cz(&r1["coeff_poks"][j]));
            }
            coeffs.push(a);
        }
        // Round 2: senders in order, recipients increasing, drawing e; blobs re-sealed identically
        // and opened by the recipient; signatures checked.
        let poly = |i: usize, x: u64| -> Scalar {
            let mut acc = Scalar::ZERO;
            let mut pow = Scalar::ONE;
            for a in &coeffs[i] {
                acc += a * pow;
                pow *= Scalar::from(x);
            }
            acc
        };
        for &i in &participants {
            for &l in participants.iter().filter(|l| **l != i) {
                let e = drbg.next_scalar().unwrap();
                let blob_hex = &cer["round2"][i.to_string()][l.to_string()];
                let share = poly(i as usize - 1, l);
                let blob =
                    transport::seal_share(&cc, i, l, &transport_keys[l as usize - 1], &e, &share)
                        .unwrap();
                assert_eq!(blob.to_vec(), h(blob_hex), "blob {i}->{l}");
                let d_l = sc(&secrets["guardian_transport_d"][l.to_string()]);
                let opened =
                    transport::open_share(&cc, i, l, &d_l, &transport_keys[l as usize - 1], &blob)
                        .unwrap();
                assert_eq!(*opened, share);
                let msg = transcript::dkg_round2_message(&cc, i, l, &blob);
                credential::verify_strict(
                    &sm.guardian_ids[i as usize - 1],
                    &msg,
                    &h(&cer["round2_sigs"][i.to_string()][l.to_string()]),
                )
                .unwrap();
            }
        }
        assert_eq!(drbg.counter(), 24);

        // Z_ℓ and the guardians' shares.
        for &l in &participants {
            let z_pub = tally::verification_key(l, &commitments);
            assert_eq!(z_pub, pt(&te["verification_keys_Z"][l.to_string()]));
            let z = sc(&secrets["guardian_shares_z"][l.to_string()]);
            assert_eq!(Element::from_point(group::mul_base(&z)), z_pub);
            let zsum: Scalar = (0..participants.len()).map(|i| poly(i, l)).sum();
            assert_eq!(zsum, z);
        }
        let quorum: Vec<u64> = te["quorum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        let w = tally::lagrange_weights(&quorum).unwrap();
        for (q, wq) in quorum.iter().zip(w.iter()) {
            assert_eq!(*wq, sc(&te["lagrange_quorum_1_3"][q.to_string()]));
        }

        let key = JointKey::new(k_elem, "joint_key").unwrap();
        let table = DlogTable::new(16);
        for vote in b["votes"].as_array().unwrap() {
            let vid = vote["vote_id"].as_str().unwrap();
            let vm = VoteManifest::parse(&hs(&vote["vote_manifest_hex"]), &sm).unwrap();
            assert_eq!(vm.vote_id, vid);
            let shape = vm.shape().clone();
            let vc = VoteContext {
                manifest_hash: &mh,
                vote: &vm,
                key: &key,
            };
            let first = &te["ballot_ctx_first_ballot"][vid];
            assert_eq!(
                shape
                    .values_u64()
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>(),
                first["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            );
            match shape.range() {
                None => assert!(first["range_weights"].is_null()),
                Some(rp) => {
                    assert_eq!(
                        rp.weights.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                        first["range_weights"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_str().unwrap().to_owned())
                            .collect::<Vec<_>>()
                    );
                    assert_eq!(rp.c0, first["range_c0"].as_u64().unwrap());
                }
            }
            assert_eq!(shape.nbits() as u64, first["range_bits"].as_u64().unwrap());

            // Roll call (CO signature).
            let rc = &vote["roll_call"];
            let creds: Vec<[u8; 32]> = rc["credentials"]
                .as_array()
                .unwrap()
                .iter()
                .map(h32)
                .collect();
            let cast = rc["cast_count"].as_u64().unwrap();
            let rc_msg = transcript::roll_call_message(&mh, vid, vm.hash(), &creds, cast);
            credential::verify_strict(&sm.credential_officer, &rc_msg, &h(&rc["sig"])).unwrap();

            // Every ballot: parse, verify, tracker, short code, both encodings round-trip.
            let mut bb = ballot::BallotBox::new(&creds);
            let mut ballots = Vec::new();
            let mut trackers = Vec::new();
            for (pos, bj) in vote["ballots"].as_array().unwrap().iter().enumerate() {
                let ballot = Ballot::from_json(bj, &vm).unwrap();
                let tr = ballot::verify_ballot(&vc, &ballot).unwrap();
                assert_eq!(tr, h32(&te["trackers"][vid][pos]));
                assert_eq!(
                    ballot::short_code(&tr),
                    te["tracker_short"][vid][pos].as_str().unwrap()
                );
                let rec = ballot.to_record();
                assert_eq!(rec.len(), shape.record_len());
                assert_eq!(Ballot::from_record(&rec, &shape).unwrap(), ballot);
                assert_eq!(&ballot.to_json(vid, &shape), bj);
                if pos == 0 {
                    assert_eq!(
                        vc.ballot_ctx(&ballot.cred_pk, &ballot.ciphertext_bytes()),
                        h64(&first["ctx"])
                    );
                    assert_eq!(transcript::sha256(&rec), h32(&first["ballot_bin_sha256"]));
                    assert_eq!(
                        transcript::sha256(&ballot.canonical_bytes(vid)),
                        h32(&first["ballot_bytes_sha256"])
                    );
                }
                // has_seen: what lets the appliance skip a new ballot's store lookups. True
                // once its credential cast, or once its ciphertexts were audited.
                assert!(!bb.has_seen(&ballot));
                let mut audited = ballot::BallotBox::new(&creds);
                audited.reserve(&ballot).unwrap();
                assert!(audited.has_seen(&ballot));
                bb.admit(&ballot).unwrap();
                assert!(bb.has_seen(&ballot));
                assert_eq!(
                    bb.admit(&ballot),
                    Err(ballot::BoxRejection::DuplicateCredential)
                );
                trackers.push(tr);
                ballots.push(ballot);
            }
            assert_eq!(bb.len() as u64, cast);

            // Re-encrypt every ballot from the DRBG (voter order) to identical bytes.
            let per = draws_per_ballot(&shape);
            let order: Vec<usize> = te["ballot_voter_index"][vid]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            for voter in 0..ballots.len() {
                let card = piaojue_core::e2e::drbg::test_key_seed(&seed, "cred", voter as u64);
                let cred = SigningIdentity::derive_credential(&card, &mh, vid);
                let choices: Vec<usize> = te["choices"][vid][voter]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect();
                let before = drbg.counter();
                let (mine, _secrets) =
                    ballot::prove_ballot(&vc, &cred, &choices, &mut drbg).unwrap();
                assert_eq!(drbg.counter() - before, per);
                let pos = order.iter().position(|o| *o == voter).unwrap();
                assert_eq!(mine, ballots[pos], "{vid} voter {voter}");
            }

            // List hash, close signature.
            let lh = tally::list_hash(&mh, vid, &trackers).unwrap();
            assert_eq!(lh, h32(&vote["list_hash"]));
            assert_eq!(lh, h32(&first["list_hash"]));
            let n_cast = ballots.len() as u64;
            credential::verify_strict(
                &sm.appliance_key,
                &transcript::close_message(&mh, vid, &lh, n_cast),
                &h(&vote["close_sig"]),
            )
            .unwrap();

            // Aggregation, partial decryptions (verified and re-proved), combination, dlog, counts.
            let res = &vote["result"];
            let totals = tally::aggregate(&ballots, shape.m()).unwrap();
            for (t, rt) in totals.iter().zip(res["totals"].as_array().unwrap()) {
                assert_eq!(t.a, pt(&rt["A"]));
                assert_eq!(t.b, pt(&rt["B"]));
            }
            let mut tot_cat = Vec::new();
            for t in &totals {
                tot_cat.extend_from_slice(&t.to_bytes());
            }
            let mut partials = Vec::new();
            for (q, p) in quorum.iter().zip(res["partials"].as_array().unwrap()) {
                assert_eq!(p["guardian"].as_u64().unwrap(), *q);
                let z_pub = tally::verification_key(*q, &commitments);
                let dctx = transcript::decrypt_ctx(&transcript::DecryptCtxFields {
                    manifest: &mh,
                    vote: vid,
                    vote_manifest: vm.hash(),
                    pk: k_elem.as_bytes(),
                    ceremony: &cc,
                    list: &lh,
                    n: n_cast,
                    guardian: *q,
                    z: z_pub.as_bytes(),
                });
                let shares: Vec<PartialShare> = p["shares"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| PartialShare {
                        m: pt(&s["M"]),
                        proof: cz(&s["proof"]),
                    })
                    .collect();
                tally::verify_partial(&dctx, &z_pub, &totals, &shares, "partials").unwrap();
                let z = sc(&secrets["guardian_shares_z"][q.to_string()]);
                let again = tally::partial_decrypt(&dctx, &z, &z_pub, &totals, &mut drbg).unwrap();
                assert_eq!(again, shares);
                let mut sh_cat = Vec::new();
                for s in &shares {
                    sh_cat.extend_from_slice(s.m.as_bytes());
                    sh_cat.extend_from_slice(&s.proof.to_bytes());
                }
                let msg = transcript::decryption_message(&cc, vid, &lh, n_cast, &tot_cat, &sh_cat);
                credential::verify_strict(&sm.guardian_ids[*q as usize - 1], &msg, &h(&p["sig"]))
                    .unwrap();
                // Wrong list hash: the proof does not transfer.
                let mut lh2 = lh;
                lh2[0] ^= 1;
                let dctx2 = transcript::decrypt_ctx(&transcript::DecryptCtxFields {
                    manifest: &mh,
                    vote: vid,
                    vote_manifest: vm.hash(),
                    pk: k_elem.as_bytes(),
                    ceremony: &cc,
                    list: &lh2,
                    n: n_cast,
                    guardian: *q,
                    z: z_pub.as_bytes(),
                });
                assert!(
                    tally::verify_partial(&dctx2, &z_pub, &totals, &shares, "partials").is_err()
                );
                partials.push(shares);
            }
            let combined = tally::combine(&totals, &quorum, &partials).unwrap();
            let vmax = n_cast * shape.max_value();
            for (i, c) in combined.iter().enumerate() {
                let val = table.solve(c, vmax).unwrap();
                assert_eq!(val, res["plaintext_totals"][i].as_u64().unwrap());
                assert!(tally::check_plaintext(val, c, &shape, n_cast));
                let counts = tally::decode_counts(&shape, n_cast, val, "counts").unwrap();
                let want: Vec<u64> = res["counts"][i]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect();
                assert_eq!(counts, want);
            }

            // Spoiled records: r and s come first from the audit DRBG, and re-encrypt.
            for sp in vote["spoiled"].as_array().unwrap() {
                let mut audit_seed = seed.clone();
                audit_seed.extend_from_slice(b"/audit/");
                audit_seed.extend_from_slice(vid.as_bytes());
                let mut ad = TestDrbg::new(&audit_seed);
                let choices: Vec<usize> = sp["choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect();
                let vals = shape.encode_choices(&choices).unwrap();
                let bits = shape.range_bits(&choices).unwrap();
                for (i, (it, mv)) in sp["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(vals.iter())
                    .enumerate()
                {
                    let r = sc(&sp["r"][i]);
                    assert_eq!(*ad.next_scalar().unwrap(), r);
                    let ct = elgamal::encrypt(&key, &Scalar::from(*mv), &r).unwrap();
                    assert_eq!((ct.a, ct.b), (pt(&it[0]), pt(&it[1])));
                }
                assert_eq!(sp["bits"].as_array().unwrap().len(), bits.len());
                for (j, (bt, bv)) in sp["bits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(bits.iter())
                    .enumerate()
                {
                    let s = sc(&sp["s"][j]);
                    assert_eq!(*ad.next_scalar().unwrap(), s);
                    let ct = elgamal::encrypt(&key, &Scalar::from(u64::from(*bv)), &s).unwrap();
                    assert_eq!((ct.a, ct.b), (pt(&bt[0]), pt(&bt[1])));
                }
            }
        }
    }
}

// ---------------------------------------------------------------- negative tests (§3.2, §7)

mod negative {
    use super::*;
    use curve25519_dalek::ristretto::RistrettoPoint;
    use piaojue_core::e2e::ballot::{self, Ballot, VoteContext};
    use piaojue_core::e2e::manifest::{SessionManifest, VoteManifest};
    use piaojue_core::e2e::packing::{Shape, VoteType};

    const FIELDS: [&str; 8] = ["ctx", "label", "index", "pk", "A", "B", "values", "commit"];

    /// A textbook CDS prover whose challenge omits `omit` (None: the full §3.3 field list).
    fn forged_cds(
        omit: Option<&str>,
        key: &JointKey,
        st: &CdsStatement<'_>,
        j: usize,
        r: &Scalar,
    ) -> CdsProof {
        let mut rng = TestDrbg::new(b"forge");
        let g = curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
        let kp = *key.element().point();
        let (a_pt, b_pt) = (*st.ct.a.point(), *st.ct.b.point());
        let mut cs = vec![Scalar::ZERO; st.values.len()];
        let mut zs = vec![Scalar::ZERO; st.values.len()];
        let mut w = Scalar::ZERO;
        let mut commit = Vec::new();
        for (i, v) in st.values.iter().enumerate() {
            let (a, b): (RistrettoPoint, RistrettoPoint) = if i == j {
                w = *rng.next_scalar().unwrap();
                (w * g, w * kp)
            } else {
                cs[i] = *rng.next_scalar().unwrap();
                zs[i] = *rng.next_scalar().unwrap();
                (
                    zs[i] * g - cs[i] * a_pt,
                    zs[i] * kp - cs[i] * (b_pt - v * g),
                )
            };
            commit.extend_from_slice(a.compress().as_bytes());
            commit.extend_from_slice(b.compress().as_bytes());
        }
        let mut vals = Vec::new();
        for v in st.values {
            vals.extend_from_slice(v.as_bytes());
        }
        let fields: [(&str, Vec<u8>); 8] = [
            ("ctx", st.ctx.to_vec()),
            ("label", st.label.as_str().as_bytes().to_vec()),
            ("index", st.index.to_be_bytes().to_vec()),
            ("pk", key.element().as_bytes().to_vec()),
            ("A", st.ct.a.as_bytes().to_vec()),
            ("B", st.ct.b.as_bytes().to_vec()),
            ("values", vals),
            ("commit", commit),
        ];
        let mut t = Transcript::new("cds");
        for (l, v) in &fields {
            if Some(*l) != omit {
                t = t.field(l, v);
            }
        }
        let c = t.h_scalar();
        let others: Scalar = cs.iter().sum();
        cs[j] = c - others;
        zs[j] = w + cs[j] * r;
        CdsProof(cs.into_iter().zip(zs).map(|(c, z)| Cz { c, z }).collect())
    }

    #[test]
    fn challenge_omitting_any_field_is_rejected() {
        let v = vectors();
        let e = &v["encryption"];
        let key = JointKey::new(pt(&e["pk"]), "pk").unwrap();
        let r = sc(&e["r"]);
        let ct = elgamal::encrypt(&key, &Scalar::from(4096u64), &r).unwrap();
        let values = [Scalar::ZERO, Scalar::ONE, Scalar::from(4096u64)];
        let ctx = [0x5a; 64];
        let st = CdsStatement {
            ctx: &ctx,
            label: ProofLabel::Item,
            index: 3,
            ct: &ct,
            values: &values,
        };
        // The test prover is right: with every field it verifies.
        assert!(proofs::cds_verify(
            &key,
            &st,
            &forged_cds(None, &key, &st, 2, &r)
        ));
        for f in FIELDS {
            let p = forged_cds(Some(f), &key, &st, 2, &r);
            assert!(
                !proofs::cds_verify(&key, &st, &p),
                "challenge without {f} must be rejected"
            );
        }
        // A proof for a value outside V is rejected.
        let ct5 = elgamal::encrypt(&key, &Scalar::from(5u64), &r).unwrap();
        let st5 = CdsStatement { ct: &ct5, ..st };
        assert!(!proofs::cds_verify(
            &key,
            &st5,
            &forged_cds(None, &key, &st5, 1, &r)
        ));
        // Wrong branch count.
        let mut p = forged_cds(None, &key, &st, 2, &r);
        p.0.pop();
        assert!(!proofs::cds_verify(&key, &st, &p));
    }

    pub(crate) fn tiny_session() -> (SessionManifest, JointKey, Value) {
        let v = vectors();
        let b = &v["tiny_election"]["bundle"];
        let sm = SessionManifest::parse(&h(&b["manifest_hex"])).unwrap();
        let key = JointKey::new(pt(&b["joint_key"]), "K").unwrap();
        (sm, key, v)
    }

    pub(crate) fn vote_manifest_bytes(
        sm: &SessionManifest,
        vote_id: &str,
        vtype: &str,
        m: usize,
        max_yes: Option<u64>,
        nonce: &str,
    ) -> Vec<u8> {
        let options: Vec<&str> =
            piaojue_core::e2e::manifest::fixed_options(VoteType::parse(vtype).unwrap())
                .map(|o| o.to_vec())
                .unwrap_or_else(|| vec!["a", "b", "c", "d"]);
        let items: Vec<String> = (0..m).map(|i| format!("item {i}")).collect();
        let mut map = serde_json::Map::new();
        map.insert("items".into(), serde_json::json!(items));
        map.insert("m".into(), serde_json::json!(m));
        if let Some(n) = max_yes {
            map.insert("max_yes".into(), serde_json::json!(n));
        }
        map.insert("nonce".into(), serde_json::json!(nonce));
        map.insert("options".into(), serde_json::json!(options));
        map.insert("session".into(), serde_json::json!(hex::encode(sm.hash())));
        map.insert("type".into(), serde_json::json!(vtype));
        map.insert("vote_id".into(), serde_json::json!(vote_id));
        serde_json::to_vec(&Value::Object(map)).unwrap()
    }

    #[test]
    fn ballot_does_not_transfer() {
        let (sm, key, _) = tiny_session();
        let mh = *sm.hash();
        let n1 = "00112233445566778899aabbccddeeff";
        let vm = VoteManifest::parse(
            &vote_manifest_bytes(&sm, "pi-1", "per_item", 4, Some(2), n1),
            &sm,
        )
        .unwrap();
        let cred = SigningIdentity::from_seed(&[1u8; 32]);
        let vc = VoteContext {
            manifest_hash: &mh,
            vote: &vm,
            key: &key,
        };
        let (b, _) =
            ballot::prove_ballot(&vc, &cred, &[2, 1, 0, 2], &mut TestDrbg::new(b"t")).unwrap();
        ballot::verify_ballot(&vc, &b).unwrap();

        // Another session manifest hash.
        let mh2 = [9u8; 32];
        let e = ballot::verify_ballot(
            &VoteContext {
                manifest_hash: &mh2,
                ..vc
            },
            &b,
        )
        .unwrap_err();
        assert!(matches!(e, E2eError::Signature { .. }), "{e}");
        // Another vote (new vote_id) and another vote manifest (same id, new nonce).
        let vm_id = VoteManifest::parse(
            &vote_manifest_bytes(&sm, "pi-2", "per_item", 4, Some(2), n1),
            &sm,
        )
        .unwrap();
        let vm_nonce = VoteManifest::parse(
            &vote_manifest_bytes(
                &sm,
                "pi-1",
                "per_item",
                4,
                Some(2),
                "ffeeddccbbaa99887766554433221100",
            ),
            &sm,
        )
        .unwrap();
        for other in [&vm_id, &vm_nonce] {
            let vc2 = VoteContext { vote: other, ..vc };
            assert!(ballot::verify_ballot(&vc2, &b).is_err());
            // Even re-signed for the new tracker, the proofs are bound to the old ctx.
            let mut b2 = b.clone();
            b2.sig = cred.sign(&transcript::ballot_sig_message(
                &b2.tracker(&mh, &other.vote_id),
            ));
            let e = ballot::verify_ballot(&vc2, &b2).unwrap_err();
            assert_eq!(
                e,
                E2eError::Proof {
                    field: "ballot.items[0].proof".into()
                }
            );
        }
        // Another credential: copy the ballot under a new key and re-sign it.
        let thief = SigningIdentity::from_seed(&[2u8; 32]);
        let mut stolen = b.clone();
        stolen.cred_pk = thief.public_key();
        stolen.sig = thief.sign(&transcript::ballot_sig_message(
            &stolen.tracker(&mh, "pi-1"),
        ));
        let e = ballot::verify_ballot(&vc, &stolen).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ballot.items[0].proof: proof does not verify"
        );
        // Another joint key.
        let key2 = JointKey::new(Element::generator(), "K").unwrap();
        assert!(ballot::verify_ballot(&VoteContext { key: &key2, ..vc }, &b).is_err());
    }

    #[test]
    fn tampered_records_are_rejected() {
        let (sm, key, _) = tiny_session();
        let mh = *sm.hash();
        let vm = VoteManifest::parse(
            &vote_manifest_bytes(
                &sm,
                "m-1",
                "motion",
                1,
                None,
                "00112233445566778899aabbccddeeff",
            ),
            &sm,
        )
        .unwrap();
        let cred = SigningIdentity::from_seed(&[3u8; 32]);
        let vc = VoteContext {
            manifest_hash: &mh,
            vote: &vm,
            key: &key,
        };
        let (b, _) = ballot::prove_ballot(&vc, &cred, &[1], &mut TestDrbg::new(b"x")).unwrap();
        let rec = b.to_record();
        assert_eq!(rec.len(), 352);
        let shape = vm.shape();
        for i in 0..rec.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = rec.clone();
                t[i] ^= bit;
                let ok =
                    Ballot::from_record(&t, shape).and_then(|b| ballot::verify_ballot(&vc, &b));
                assert!(ok.is_err(), "flip of byte {i} bit {bit:#x} accepted");
            }
        }
        assert!(matches!(
            Ballot::from_record(&rec[..351], shape),
            Err(E2eError::Length { expected: 352, .. })
        ));
        let mut long = rec.clone();
        long.push(0);
        assert!(Ballot::from_record(&long, shape).is_err());
        // A = O is refused with its own error; a non-canonical c names its field.
        let mut t = rec.clone();
        t[32..64].fill(0);
        assert_eq!(
            Ballot::from_record(&t, shape).unwrap_err(),
            E2eError::IdentityForbidden {
                field: "ballot.items[0].A".into()
            }
        );
        let mut t = rec.clone();
        t[32 + 64 + 64..32 + 64 + 96].fill(0xff);
        assert_eq!(
            Ballot::from_record(&t, shape).unwrap_err().to_string(),
            "ballot.items[0].proof.c[1]: scalar not canonical"
        );
        // Adding ℓ to a response (the reduction malleability) is rejected, not reduced.
        let mut t = rec.clone();
        let z = &mut t[32 + 64 + 32..32 + 64 + 64];
        let mut carry = 0u16;
        let ell: [u8; 32] = h32(&Value::String(
            "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010".into(),
        ));
        for k in 0..32 {
            let s = u16::from(z[k]) + u16::from(ell[k]) + carry;
            z[k] = s as u8;
            carry = s >> 8;
        }
        assert!(Ballot::from_record(&t, shape).is_err());
        // JSON view: upper-case hex, missing range, wrong vote_id.
        let j = b.to_json("m-1", shape);
        let mut up = j.clone();
        up["cred_pk"] = Value::String(j["cred_pk"].as_str().unwrap().to_uppercase());
        assert!(matches!(
            Ballot::from_json(&up, &vm),
            Err(E2eError::Hex { .. })
        ));
        let mut wrong = j.clone();
        wrong["vote_id"] = "m-2".into();
        assert!(matches!(
            Ballot::from_json(&wrong, &vm),
            Err(E2eError::Shape { .. })
        ));
        let mut extra = j.clone();
        extra["extra"] = 1.into();
        assert!(matches!(
            Ballot::from_json(&extra, &vm),
            Err(E2eError::Json { .. })
        ));
    }

    #[test]
    fn honest_prover_refuses_out_of_range_and_verifier_checks_range() {
        let (sm, key, _) = tiny_session();
        let mh = *sm.hash();
        let vm = VoteManifest::parse(
            &vote_manifest_bytes(
                &sm,
                "pi-3",
                "per_item",
                4,
                Some(2),
                "00112233445566778899aabbccddeeff",
            ),
            &sm,
        )
        .unwrap();
        let cred = SigningIdentity::from_seed(&[4u8; 32]);
        let vc = VoteContext {
            manifest_hash: &mh,
            vote: &vm,
            key: &key,
        };
        assert!(ballot::prove_ballot(&vc, &cred, &[2, 2, 2, 0], &mut TestDrbg::new(b"r")).is_err());
        assert!(ballot::prove_ballot(&vc, &cred, &[3, 0, 0, 0], &mut TestDrbg::new(b"r")).is_err());
        assert!(ballot::prove_ballot(&vc, &cred, &[0, 0, 0], &mut TestDrbg::new(b"r")).is_err());
        // A ballot for N = 2 whose range object is dropped, or whose link is swapped, fails.
        let (b, _) =
            ballot::prove_ballot(&vc, &cred, &[2, 2, 1, 1], &mut TestDrbg::new(b"r")).unwrap();
        ballot::verify_ballot(&vc, &b).unwrap();
        let mut nr = b.clone();
        nr.range = None;
        assert!(matches!(
            ballot::verify_ballot(&vc, &nr),
            Err(E2eError::Shape { .. })
        ));
        let mut bad = b.clone();
        if let Some(r) = bad.range.as_mut() {
            r.link.z += Scalar::ONE;
        }
        let tracker = bad.tracker(&mh, "pi-3");
        bad.sig = cred.sign(&transcript::ballot_sig_message(&tracker));
        assert_eq!(
            ballot::verify_ballot(&vc, &bad).unwrap_err(),
            E2eError::Proof {
                field: "ballot.range.link".into()
            }
        );
        // Unconstrained N = M: no range object.
        let vm4 = VoteManifest::parse(
            &vote_manifest_bytes(
                &sm,
                "pi-4",
                "per_item",
                4,
                Some(4),
                "00112233445566778899aabbccddeeff",
            ),
            &sm,
        )
        .unwrap();
        assert!(vm4.shape().range().is_none());
    }

    #[test]
    fn binary_ballot_size_per_item_m30_n25() {
        let v = vectors();
        let want = v["binary_ballot_size_per_item_m30_n25"].as_u64().unwrap() as usize;
        let shape = Shape::new(VoteType::PerItem, 30, 3, Some(25), 4096).unwrap();
        assert_eq!(shape.record_len(), want);
        let (sm, key, _) = tiny_session();
        let mh = *sm.hash();
        let vm = VoteManifest::parse(
            &vote_manifest_bytes(
                &sm,
                "big",
                "per_item",
                30,
                Some(25),
                "00112233445566778899aabbccddeeff",
            ),
            &sm,
        )
        .unwrap();
        let vc = VoteContext {
            manifest_hash: &mh,
            vote: &vm,
            key: &key,
        };
        let choices: Vec<usize> = (0..30).map(|i| i % 3).collect();
        let (b, _) = ballot::prove_ballot(
            &vc,
            &SigningIdentity::from_seed(&[5u8; 32]),
            &choices,
            &mut TestDrbg::new(b"big"),
        )
        .unwrap();
        assert_eq!(b.to_record().len(), want);
        ballot::verify_ballot(&vc, &b).unwrap();
        let motion = Shape::new(VoteType::Motion, 1, 3, None, 4096).unwrap();
        assert_eq!(motion.record_len(), 352);
    }

    #[test]
    fn manifests_are_byte_exact() {
        let (sm, _, v) = tiny_session();
        let good = vote_manifest_bytes(
            &sm,
            "v-1",
            "per_item",
            2,
            Some(1),
            "00112233445566778899aabbccddeeff",
        );
        VoteManifest::parse(&good, &sm).unwrap();
        let s = String::from_utf8(good.clone()).unwrap();
        let bad_variants = [
            s.replacen(',', ", ", 1),                        // whitespace
            s.replacen("{", "{\"items\":[\"x\",\"y\"],", 1), // duplicate key
            s.replacen("{", "{\"aaa\":1,", 1),               // unknown key
            s.replacen("\"m\":2", "\"m\":2.0", 1),           // float
            s.replacen("\"m\":2", "\"m\":02", 1),            // leading zero
            s.replacen(
                "00112233445566778899aabbccddeeff",
                "00112233445566778899AABBCCDDEEFF",
                1,
            ),
            s.replacen("item 0", "item\\u0020 0", 1), // escape
            s.replacen("\"不赞成\"", "\"\\u4e0d赞成\"", 1), // escaped CJK
            s.replacen(
                "[\"弃权\",\"不赞成\",\"赞成\"]",
                "[\"弃权\",\"赞成\",\"不赞成\"]",
                1,
            ), // relabelling
            s.replacen("\"max_yes\":1", "\"max_yes\":3", 1), // N > M
            s.replacen("\"vote_id\":\"v-1\"", "\"vote_id\":\"V-1\"", 1), // vote_id charset
            s.replacen(&hex::encode(sm.hash()), &"00".repeat(32), 1), // session binding
        ];
        for (i, b) in bad_variants.iter().enumerate() {
            assert_ne!(b.as_bytes(), good.as_slice(), "variant {i} unchanged");
            assert!(
                VoteManifest::parse(b.as_bytes(), &sm).is_err(),
                "variant {i} accepted: {b}"
            );
        }
        // Reordered keys in the session manifest.
        let mbytes = h(&v["tiny_election"]["bundle"]["manifest_hex"]);
        let val: Value = serde_json::from_slice(&mbytes).unwrap();
        let pretty = serde_json::to_vec_pretty(&val).unwrap();
        assert!(SessionManifest::parse(&pretty).is_err());
        let motion_with_n = vote_manifest_bytes(
            &sm,
            "v-2",
            "motion",
            1,
            Some(1),
            "00112233445566778899aabbccddeeff",
        );
        assert!(VoteManifest::parse(&motion_with_n, &sm).is_err());
        let ms = String::from_utf8(mbytes.clone()).unwrap();
        assert!(
            SessionManifest::parse(
                ms.replacen("\"radix\":4096", "\"radix\":4095", 1)
                    .as_bytes()
            )
            .is_err()
        );
        assert!(
            SessionManifest::parse(
                ms.replacen("\"max_electorate\":4095", "\"max_electorate\":4096", 1)
                    .as_bytes()
            )
            .is_err()
        );
        assert!(SessionManifest::parse(ms.replacen("\"k\":2", "\"k\":4", 1).as_bytes()).is_err());
        // A small-order credential officer key fails the strict key check.
        let co = hex::encode(&sm.credential_officer);
        let e = SessionManifest::parse(
            ms.replacen(&co, &format!("01{}", "00".repeat(31)), 1)
                .as_bytes(),
        )
        .unwrap_err();
        assert!(matches!(e, E2eError::Signature { .. }), "{e}");
    }
}

// ---------------------------------------------------------------- tally

mod tally_tests {
    use super::*;
    use piaojue_core::e2e::packing::{Shape, VoteType};
    use piaojue_core::e2e::tally::{self, DlogTable};

    #[test]
    fn every_quorum_of_two_of_three_gives_the_same_weights_result() {
        // Shamir shares of secret s = 42 with P(x) = 42 + 7x; every 2-subset recombines to s.
        let p = |x: u64| Scalar::from(42u64) + Scalar::from(7u64) * Scalar::from(x);
        for q in [[1u64, 2], [1, 3], [2, 3]] {
            let w = tally::lagrange_weights(&q).unwrap();
            let s: Scalar = q.iter().zip(w.iter()).map(|(x, w)| p(*x) * w).sum();
            assert_eq!(s, Scalar::from(42u64));
        }
        assert!(tally::lagrange_weights(&[3, 1]).is_err());
        assert!(tally::lagrange_weights(&[0, 1]).is_err());
        assert!(tally::lagrange_weights(&[1, 1]).is_err());
    }

    #[test]
    fn decoding_enforces_n_cast_below_t() {
        let s = Shape::new(VoteType::Motion, 1, 3, None, 8).unwrap();
        // v1's bug: eight 反对 ballots with T = 8 look like 7 弃权 + 1 赞成. n_cast = 8 is refused.
        assert!(tally::decode_counts(&s, 8, 8, "v").is_err());
        assert_eq!(
            tally::decode_counts(&s, 7, 8 + 2, "v").unwrap(),
            vec![4, 2, 1]
        );
        assert!(tally::decode_counts(&s, 7, 64, "v").is_err());
        assert!(tally::decode_counts(&s, 2, 7, "v").is_err());
        let a = Shape::new(VoteType::ApproveUpToN, 3, 2, Some(2), 4096).unwrap();
        assert_eq!(tally::decode_counts(&a, 5, 3, "v").unwrap(), vec![2, 3]);
        assert!(tally::decode_counts(&a, 5, 6, "v").is_err());
    }

    #[test]
    fn list_hash_requires_strict_order() {
        assert!(tally::list_hash(&[0; 32], "v", &[[1; 32], [1; 32]]).is_err());
        assert!(tally::list_hash(&[0; 32], "v", &[[2; 32], [1; 32]]).is_err());
        assert!(tally::list_hash(&[0; 32], "v", &[[1; 32], [2; 32]]).is_ok());
    }

    #[test]
    fn dlog_satisfaction_l4_at_3000_voters() {
        // L = 4, T = 4096, 3,000 voters: vmax = 3000·2^24. A 2^20 table keeps the test quick
        // in debug builds (≤ 48,000 giant steps); the benchmark uses the 2^22 production size.
        let s = Shape::new(VoteType::Satisfaction, 10, 4, None, 4096).unwrap();
        let vmax = 3000 * s.max_value();
        let table = DlogTable::new(20);
        for v in [
            0u64,
            1,
            4095,
            (1 << 20) - 1,
            1 << 20,
            1000 * (1 << 24) + 77 * 4096 + 5,
            vmax,
        ] {
            let target = group::mul_base(&Scalar::from(v));
            assert_eq!(table.solve(&target, vmax), Some(v), "v = {v}");
        }
        // Out of range: not found.
        assert_eq!(
            table.solve(&group::mul_base(&Scalar::from(vmax + 1)), vmax),
            None
        );
        let counts = tally::decode_counts(&s, 3000, 1000 * (1 << 24) + 77 * 4096 + 5, "v").unwrap();
        assert_eq!(counts, vec![3000 - 1082, 5, 77, 1000]);
    }
}

// ---------------------------------------------------------------- property tests

mod props {
    use super::*;
    use piaojue_core::e2e::ballot::{self, Ballot, VoteContext};
    use piaojue_core::e2e::manifest::VoteManifest;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn hex_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = hex::encode(&bytes);
            prop_assert_eq!(hex::decode(&s, "f").unwrap(), bytes.clone());
            prop_assert_eq!(hex::decode_exact(&s, bytes.len(), "f").unwrap(), bytes);
        }

        #[test]
        fn hex_never_panics(s in ".{0,70}") {
            let _ = hex::decode(&s, "f");
            let _ = hex::decode_array::<32>(&s, "f");
        }

        #[test]
        fn point_decode_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(e) = Element::decode(&bytes, "p") {
                prop_assert_eq!(e.as_bytes().as_slice(), bytes.as_slice());
                prop_assert_eq!(Element::from_point(*e.point()), e);
            }
        }

        #[test]
        fn point_round_trip(k in any::<u64>()) {
            let e = Element::from_point(group::mul_base(&Scalar::from(k)));
            prop_assert_eq!(Element::decode(e.as_bytes(), "p").unwrap(), e);
        }

        #[test]
        fn scalar_decode_is_canonical(bytes in any::<[u8; 32]>()) {
            match group::decode_scalar(&bytes, "s") {
                Ok(s) => prop_assert_eq!(s.to_bytes(), bytes),
                Err(_) => prop_assert_ne!(Scalar::from_bytes_mod_order(bytes).to_bytes(), bytes),
            }
        }

        #[test]
        fn fuzz_record_never_panics(data in proptest::collection::vec(any::<u8>(), 0..1200)) {
            piaojue_core::e2e::fuzz_ballot_record(&data);
        }

        #[test]
        fn fuzz_manifest_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            piaojue_core::e2e::fuzz_manifest(&data);
        }

        #[test]
        fn strict_verify_never_panics(pk in proptest::collection::vec(any::<u8>(), 0..40), sig in proptest::collection::vec(any::<u8>(), 0..70)) {
            prop_assert!(credential::verify_strict(&pk, b"m", &sig).is_err());
        }
    }

    fn tiny_vote_manifest_bytes() -> (Vec<u8>, Vec<u8>) {
        let v = vectors();
        let b = &v["tiny_election"]["bundle"];
        (
            h(&b["manifest_hex"]),
            h(&b["votes"][1]["vote_manifest_hex"]),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

        #[test]
        fn mutated_manifests_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let (sm, vm) = tiny_vote_manifest_bytes();
            for base in [sm, vm] {
                let mut m = base.clone();
                let i = pos.index(m.len());
                m[i] = byte;
                piaojue_core::e2e::fuzz_manifest(&m);
                piaojue_core::e2e::fuzz_manifest(&base);
            }
        }

        #[test]
        fn mutated_records_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let v = vectors();
            let vote = &v["tiny_election"]["bundle"]["votes"][1];
            let (sm, key, _) = super::negative::tiny_session();
            let vm = VoteManifest::parse(&h(&vote["vote_manifest_hex"]), &sm).unwrap();
            let b = Ballot::from_json(&vote["ballots"][0], &vm).unwrap();
            let mut rec = b.to_record();
            let i = pos.index(rec.len());
            let changed = rec[i] != byte;
            rec[i] = byte;
            let mut framed = vec![1u8, 3, 2];
            framed.extend_from_slice(&rec);
            piaojue_core::e2e::fuzz_ballot_record(&framed);
            let mh = *sm.hash();
            let vc = VoteContext { manifest_hash: &mh, vote: &vm, key: &key };
            let r = Ballot::from_record(&rec, vm.shape()).and_then(|b| ballot::verify_ballot(&vc, &b));
            prop_assert_eq!(r.is_ok(), !changed);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

        #[test]
        fn prove_verify_round_trip(choices in proptest::collection::vec(0usize..3, 4), seed in any::<[u8; 8]>()) {
            let (sm, key, _) = super::negative::tiny_session();
            let mh = *sm.hash();
            let vm = VoteManifest::parse(&super::negative::vote_manifest_bytes(&sm, "p", "per_item", 4, Some(4), "00112233445566778899aabbccddeeff"), &sm).unwrap();
            let vc = VoteContext { manifest_hash: &mh, vote: &vm, key: &key };
            let cred = SigningIdentity::from_seed(&[6u8; 32]);
            let (b, _) = ballot::prove_ballot(&vc, &cred, &choices, &mut TestDrbg::new(&seed)).unwrap();
            let tr = ballot::verify_ballot(&vc, &b).unwrap();
            prop_assert_eq!(Ballot::from_record(&b.to_record(), vm.shape()).unwrap(), b.clone());
            prop_assert_eq!(Ballot::from_json(&b.to_json("p", vm.shape()), &vm).unwrap(), b);
            let code = ballot::short_code(&tr);
            prop_assert_eq!(code.len(), 19);
        }
    }
}
