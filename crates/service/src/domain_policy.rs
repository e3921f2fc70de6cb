//! The instance's policy towards other servers, as Mastodon's domain
//! blocks: `suspend` (nothing is accepted from the domain or sent to it,
//! and its known accounts are suspended), `silence` (its accounts are
//! limited: out of public timelines), `noop` (only the media and report
//! flags); a block covers the domain's subdomains, and a block without a
//! port every port. Domain allows are the list limited-federation mode
//! federates with.

use ferrodon_model::AccountId;
use ferrodon_storage::accounts::{self, Account, Sanction};
use ferrodon_storage::domain_policy::{self as store, DomainBlock};

use crate::{Result, ServiceError, Services};

/// How hard a domain is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Noop,
    Silence,
    Suspend,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "noop" => Some(Severity::Noop),
            "silence" => Some(Severity::Silence),
            "suspend" => Some(Severity::Suspend),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Noop => "noop",
            Severity::Silence => "silence",
            Severity::Suspend => "suspend",
        }
    }
}

/// A host and the domains whose blocks cover it, most specific first:
/// `a.example.com:3000` → `a.example.com:3000`, `a.example.com`,
/// `example.com`, `com`.
pub fn covering(host: &str) -> Vec<String> {
    let host = host.to_ascii_lowercase();
    let mut out = vec![host.clone()];
    // `host:port` or `[v6]:port` (a bare IPv6 address is always bracketed).
    let bare = match host.rsplit_once(':') {
        Some((h, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (h.ends_with(']') || !h.contains(':')) =>
        {
            h.to_owned()
        }
        _ => host.clone(),
    };
    if bare != host {
        out.push(bare.clone());
    }
    // An IP address has no parent domains.
    if bare.starts_with('[') || bare.parse::<std::net::IpAddr>().is_ok() {
        return out;
    }
    let mut rest = bare.as_str();
    while let Some((_, parent)) = rest.split_once('.') {
        if parent.is_empty() {
            break;
        }
        out.push(parent.to_owned());
        rest = parent;
    }
    out
}

fn normalise(domain: &str) -> Result<String> {
    ferrodon_fetch::host::normalize_host(domain.trim())
        .map_err(|e| ServiceError::BadRequest(format!("not a domain: {e}")))
}

impl Services {
    /// Blocks a domain (or changes its block) and applies it to the accounts
    /// already known there. Returns how many accounts it touched.
    pub async fn admin_block_domain(
        &self,
        domain: &str,
        severity: Severity,
        reject_media: bool,
        reject_reports: bool,
    ) -> Result<usize> {
        let domain = normalise(domain)?;
        if domain == self.instance().domain {
            return Err(ServiceError::BadRequest(
                "this is the instance's own domain".into(),
            ));
        }
        let now = ferrodon_storage::now();
        let ids = store::accounts_on(self.db(), &domain).await?;
        let mut tx = self.db().begin().await?;
        store::upsert_block(
            &mut tx,
            &DomainBlock {
                domain: domain.clone(),
                severity: severity.as_str().to_owned(),
                reject_media,
                reject_reports,
                created_at: now,
            },
        )
        .await?;
        let sanction = match severity {
            Severity::Suspend => Some(Sanction::Suspended),
            Severity::Silence => Some(Sanction::Silenced),
            Severity::Noop => None,
        };
        if let Some(sanction) = sanction {
            store::sanction_accounts_on(&mut tx, &domain, sanction, Some(now)).await?;
        }
        if severity == Severity::Suspend {
            for id in &ids {
                let feeds = crate::jobs::AccountFeeds {
                    account_id: AccountId(*id),
                    merge: false,
                };
                ferrodon_jobs::enqueue(&mut tx, self.ids(), &feeds).await?;
            }
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Lifts a domain's block and the sanctions it put on its accounts.
    /// Whether there was one.
    pub async fn admin_unblock_domain(&self, domain: &str) -> Result<bool> {
        let domain = normalise(domain)?;
        let ids = store::accounts_on(self.db(), &domain).await?;
        let mut tx = self.db().begin().await?;
        let existed = store::delete_block(&mut tx, &domain).await?;
        if existed {
            store::sanction_accounts_on(&mut tx, &domain, Sanction::Suspended, None).await?;
            store::sanction_accounts_on(&mut tx, &domain, Sanction::Silenced, None).await?;
            for id in ids {
                let feeds = crate::jobs::AccountFeeds {
                    account_id: AccountId(id),
                    merge: true,
                };
                ferrodon_jobs::enqueue(&mut tx, self.ids(), &feeds).await?;
            }
        }
        tx.commit().await?;
        Ok(existed)
    }

    pub async fn domain_blocks(&self) -> Result<Vec<DomainBlock>> {
        Ok(store::blocks(self.db()).await?)
    }

    /// The block covering `host` (the most specific), if any.
    pub async fn domain_block_for(&self, host: &str) -> Result<Option<DomainBlock>> {
        let candidates = covering(host);
        let mut found = store::blocks_of(self.db(), &candidates).await?;
        found.sort_by_key(|b| candidates.iter().position(|c| *c == b.domain));
        Ok(found.into_iter().next())
    }

    /// Whether a domain block covering `host` rejects its media: its
    /// attachments are kept only as links (type `unknown`), and its
    /// avatars, headers and custom emoji are not used, as Mastodon's
    /// `reject_media` (which does not download them).
    pub async fn media_rejected(&self, host: Option<&str>) -> Result<bool> {
        let Some(host) = host else { return Ok(false) };
        Ok(self
            .domain_block_for(host)
            .await?
            .is_some_and(|b| b.reject_media))
    }

    /// Whether a domain block covering `host` rejects its reports.
    pub async fn reports_rejected(&self, host: &str) -> Result<bool> {
        Ok(self
            .domain_block_for(host)
            .await?
            .is_some_and(|b| b.reject_reports))
    }

    /// Whether `host` is suspended by a domain block.
    pub async fn domain_suspended(&self, host: &str) -> Result<bool> {
        Ok(self
            .domain_block_for(host)
            .await?
            .is_some_and(|b| b.severity == Severity::Suspend.as_str()))
    }

    pub async fn allow_domain(&self, domain: &str) -> Result<()> {
        let domain = normalise(domain)?;
        store::insert_allow(self.db(), &domain, ferrodon_storage::now()).await?;
        Ok(())
    }

    pub async fn disallow_domain(&self, domain: &str) -> Result<bool> {
        let domain = normalise(domain)?;
        Ok(store::delete_allow(self.db(), &domain).await?)
    }

    pub async fn domain_allows(&self) -> Result<Vec<String>> {
        Ok(store::allows(self.db()).await?)
    }

    /// Whether `host` (or a parent domain) is on the allow list.
    pub async fn domain_allowed(&self, host: &str) -> Result<bool> {
        Ok(store::allowed(self.db(), &covering(host)).await?)
    }

    /// Applies the domain's block to a remote account seen for the first
    /// time (or again) after the block was made.
    pub async fn apply_domain_policy(&self, account: &Account) -> Result<()> {
        let Some(domain) = &account.domain else {
            return Ok(());
        };
        let Some(block) = self.domain_block_for(domain).await? else {
            return Ok(());
        };
        let now = Some(ferrodon_storage::now());
        if block.severity == Severity::Suspend.as_str() && account.suspended_at.is_none() {
            accounts::set_sanction(self.db(), account.id, Sanction::Suspended, now).await?;
        } else if block.severity == Severity::Silence.as_str() && account.silenced_at.is_none() {
            accounts::set_sanction(self.db(), account.id, Sanction::Silenced, now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_domains() {
        assert_eq!(
            covering("a.Example.com:3000"),
            vec!["a.example.com:3000", "a.example.com", "example.com", "com"]
        );
        assert_eq!(
            covering("localhost:3002"),
            vec!["localhost:3002", "localhost"]
        );
        assert_eq!(covering("example.com"), vec!["example.com", "com"]);
        assert_eq!(covering("[::1]:80"), vec!["[::1]:80", "[::1]"]);
        assert_eq!(covering("[::1]"), vec!["[::1]"]);
        assert_eq!(covering("10.0.0.1:8080"), vec!["10.0.0.1:8080", "10.0.0.1"]);
    }
}
