//! Quotes across servers (FEP-044f, as Mastodon 4.5): a remote status
//! quoting a local one is accepted when the local status's policy lets its
//! author quote it (the quoted author's server answers a `QuoteRequest`
//! with an `Accept` whose `result` is a `QuoteAuthorization` served here);
//! a remote status quoting another remote one is accepted only with an
//! authorization federation verified, and pending otherwise (not shown).

use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::quotes::{self, Quote, QuoteState};
use ferrodon_storage::remote as store;
use ferrodon_storage::statuses::{self, Status};

use crate::federate::Federate;
use crate::quote_policy::policy_for;
use crate::remote_statuses::RemoteStatus;
use crate::{Result, ServiceError, Services};

/// What a `QuoteRequest` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteAnswer {
    /// Accepted: the quote's id (its authorization is served at
    /// `/users/AUTHOR/quote_authorizations/ID`).
    Accepted(i64),
    Rejected,
}

impl Services {
    /// The status a remote status quotes and the state its quote starts
    /// in; `None` when the quoted status is not known here.
    pub(crate) async fn remote_quote_state(
        &self,
        s: &RemoteStatus,
        quote_uri: &str,
    ) -> Result<Option<(Status, QuoteState)>> {
        let Some(id) = store::status_id_by_uri(self.db(), quote_uri).await? else {
            return Ok(None);
        };
        let Some(quoted) = statuses::get(self.db(), id).await? else {
            return Ok(None);
        };
        if quoted.reblog_of_id.is_some() {
            return Ok(None);
        }
        let state = if quoted.local {
            if self.may_quote_automatically(s.account_id, &quoted).await? {
                QuoteState::Accepted
            } else {
                QuoteState::Rejected
            }
        } else if s.quote_approved || quoted.account_id == s.account_id {
            QuoteState::Accepted
        } else {
            QuoteState::Pending
        };
        Ok(Some((quoted, state)))
    }

    /// Whether `author` may quote local `quoted` without asking (its
    /// policy's automatic approval, and it can see it).
    async fn may_quote_automatically(&self, author: AccountId, quoted: &Status) -> Result<bool> {
        if author == quoted.account_id {
            return Ok(true);
        }
        match self.quotable(author, quoted.id).await {
            Ok(status) => {
                let ties = self
                    .quote_ties(Some(author), &[&status])
                    .await?
                    .get(&status.account_id)
                    .copied()
                    .unwrap_or_default();
                Ok(policy_for(&status, Some(author), ties) == "automatic")
            }
            Err(ServiceError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A remote `QuoteRequest` of local status `quoted` by `requester`,
    /// whose quoting status is `quoting` (stored here if it is not yet).
    /// Accepted when the policy approves automatically (the quote is
    /// recorded with the request's id and `Federate::AnswerQuote` sends the
    /// `Accept`), else rejected (`Federate::AnswerQuote` sends the
    /// `Reject`). Idempotent: a repeated request gets the same answer.
    pub async fn remote_quote_request(
        &self,
        requester: AccountId,
        quoted: StatusId,
        quoting: &RemoteStatus,
        request_uri: &str,
    ) -> Result<QuoteAnswer> {
        let quoted_status = statuses::get(self.db(), quoted)
            .await?
            .filter(|s| s.local)
            .ok_or_else(ServiceError::not_found)?;
        if quoting.account_id != requester {
            return Err(ServiceError::not_allowed());
        }
        let quoting_id = self.create_remote_status(quoting).await?;
        let quote = match quoting_id {
            Some(id) => quotes::find(self.db(), quoted, id).await?,
            None => None,
        };
        let accepted = match &quote {
            Some(q) => q.state() == QuoteState::Accepted,
            None => false,
        };
        let mut tx = self.db().begin().await?;
        if let Some(q) = &quote {
            quotes::set_activity_uri(&mut tx, q.id, request_uri).await?;
        }
        let job = Federate::AnswerQuote {
            account_id: quoted_status.account_id,
            requester_id: requester,
            request_uri: request_uri.to_owned(),
            quote_id: quote.as_ref().filter(|_| accepted).map(|q| q.id),
        };
        self.federate(&mut tx, &job).await?;
        tx.commit().await?;
        Ok(match quote {
            Some(q) if accepted => QuoteAnswer::Accepted(q.id),
            _ => QuoteAnswer::Rejected,
        })
    }

    /// An accepted quote of a status of local `author`, by id (what its
    /// `QuoteAuthorization` document says), with the quoting and quoted
    /// statuses' ids.
    pub async fn quote_authorization(
        &self,
        author: AccountId,
        quote_id: i64,
    ) -> Result<Option<(Quote, StatusId, StatusId)>> {
        let Some(q) = quotes::by_id(self.db(), quote_id).await? else {
            return Ok(None);
        };
        if q.state() != QuoteState::Accepted || q.quoted_account_id != Some(author.0) {
            return Ok(None);
        }
        let Some(quoted) = q.quoted_status() else {
            return Ok(None);
        };
        let quoting = q.status_id;
        Ok(Some((q, quoting, quoted)))
    }
}
