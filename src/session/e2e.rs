//! The encrypted-ballot mode's session manifest (SPEC-E2E §6.4): published once, for the
//! whole session, by the secretariat; what every tablet, scrutineer and observer checks against.

use piaojue_core::crypto;
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::SessionManifest;
use piaojue_core::refusal::Refusal;
use serde_json::json;

use super::Session;
use crate::store::Actor;

impl Session {
    /// Publishes the session manifest's exact bytes. It must be valid (§6.4) and name this
    /// appliance's key; once published it never changes (publishing the same bytes again is
    /// harmless). Returns mh.
    pub async fn publish_manifest(&self, bytes: Vec<u8>) -> Result<[u8; 32], Refusal> {
        let manifest =
            SessionManifest::parse(&bytes).map_err(|e| Refusal::BadManifest(e.to_string()))?;
        let ours = crypto::public_key(&self.store.meta().public_key)
            .map_err(|e| Refusal::internal("内部错误", e))?;
        if manifest.appliance_key != ours {
            return Err(Refusal::BadManifest(
                "manifest.appliance_key: 不是本表决系统的公钥".into(),
            ));
        }
        let mh = *manifest.hash();
        self.store
            .write(move |tx| {
                if let Some(existing) = tx.e2e_manifest()? {
                    if existing == bytes {
                        return Ok(mh);
                    }
                    let theirs = crypto::sha256(&existing);
                    return Err(Refusal::ManifestPublished(crypto::fingerprint_grouped(
                        &hex::encode(&theirs),
                    )));
                }
                tx.put_e2e_manifest(&bytes);
                tx.audit(
                    Actor::Operator,
                    "publish_manifest",
                    json!({ "mh": hex::encode(&mh), "guardians": manifest.guardian_ids.len(), "k": manifest.k }),
                );
                Ok(mh)
            })
            .await
    }
}
