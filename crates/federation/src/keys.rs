//! Signing keys: every local account's RSA-2048 pair (made on first need,
//! and by the `MakeKeys` job at sign-up) and the instance actor's.
//!
//! Two processes making a key at once is harmless: the first write wins
//! and both read the stored pair back.

use ferrodon_model::AccountId;
use ferrodon_storage::keys::{self, KeyPair};

use crate::Federation;
use crate::error::{FedResult, FederationError};

/// A fresh RSA-2048 pair as PEM (SPKI public key, PKCS#8 private key),
/// made on the blocking pool (it takes tens of milliseconds).
async fn generate() -> FedResult<KeyPair> {
    let pair = tokio::task::spawn_blocking(crate::signatures::generate_rsa_2048)
        .await
        .map_err(|e| FederationError::Internal(format!("key generation stopped: {e}")))?
        .map_err(|e| FederationError::Internal(e.to_string()))?;
    Ok(KeyPair {
        public_key_pem: pair.public_key_pem,
        private_key_pem: pair.private_key_pem,
    })
}

impl Federation {
    /// A local account's key pair, made now if it has none.
    pub async fn account_keys(&self, account: AccountId) -> FedResult<KeyPair> {
        let db = self.services().db();
        if let Some(k) = keys::account(db, account).await? {
            return Ok(k);
        }
        let fresh = generate().await?;
        keys::set_account_if_missing(db, account, &fresh).await?;
        keys::account(db, account)
            .await?
            .ok_or(FederationError::NotFound)
    }

    /// The instance actor's key pair, made now if there is none.
    pub async fn instance_keys(&self) -> FedResult<KeyPair> {
        let db = self.services().db();
        if let Some(k) = keys::instance(db).await? {
            return Ok(k);
        }
        let fresh = generate().await?;
        keys::insert_instance(db, &fresh, ferrodon_storage::now()).await?;
        keys::instance(db)
            .await?
            .ok_or_else(|| FederationError::Internal("instance key not stored".into()))
    }
}
