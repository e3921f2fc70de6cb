//! Signing keys: the instance actor's (one row of `instance_keys`) and the
//! private half of local accounts' (`accounts.private_key_pem`, never read
//! with the rest of an account).

use chrono::{DateTime, Utc};
use ferrodon_model::AccountId;

use crate::sql::{self, args};
use crate::{Exec, Result};

/// A PEM key pair: the public key as SPKI, the private key as PKCS#8.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyPair {
    pub public_key_pem: String,
    pub private_key_pem: String,
}

/// The instance actor's keys, if made.
pub async fn instance<'a>(ex: impl Exec<'a>) -> Result<Option<KeyPair>> {
    sql::fetch_optional(
        ex,
        "SELECT public_key_pem, private_key_pem FROM instance_keys WHERE id = 1",
        args![],
    )
    .await
}

/// Stores the instance actor's keys unless some are stored already (the
/// first writer wins; read them back with [`instance`]).
pub async fn insert_instance<'a>(
    ex: impl Exec<'a>,
    keys: &KeyPair,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO instance_keys (id, public_key_pem, private_key_pem, created_at) \
         VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        args![&keys.public_key_pem, &keys.private_key_pem, at],
    )
    .await
    .map(|_| ())
}

/// A local account's keys, if it has them.
pub async fn account<'a>(ex: impl Exec<'a>, id: AccountId) -> Result<Option<KeyPair>> {
    sql::fetch_optional(
        ex,
        "SELECT public_key_pem, private_key_pem FROM accounts \
         WHERE id = $1 AND domain IS NULL AND private_key_pem IS NOT NULL \
         AND public_key_pem <> ''",
        args![id],
    )
    .await
}

/// Gives a local account keys unless it has some (the first writer wins;
/// read them back with [`account`]).
pub async fn set_account_if_missing<'a>(
    ex: impl Exec<'a>,
    id: AccountId,
    keys: &KeyPair,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE accounts SET public_key_pem = $2, private_key_pem = $3 \
         WHERE id = $1 AND domain IS NULL AND (private_key_pem IS NULL OR public_key_pem = '')",
        args![id, &keys.public_key_pem, &keys.private_key_pem],
    )
    .await
    .map(|_| ())
}
