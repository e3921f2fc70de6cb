//! Ferrodon on the ActivityPub network.
//!
//! The only crate that knows ActivityStreams JSON: wire types of what other
//! servers send ([`wire`]), what remote HTML may keep ([`sanitize`]), HTTP
//! Signatures ([`signatures`]), local accounts and statuses as JSON
//! ([`json`]), discovery ([`discovery`]) and the routes that serve them
//! ([`routes`]). It sits above `service`: inbound activities call service
//! functions that take plain types, and the service layer's "federate this"
//! jobs are run here. See ARCHITECTURE.md, "Federation", for what is built.

pub mod activities;
pub mod delivery;
pub mod discovery;
pub mod error;
pub mod inbox;
pub mod json;
pub mod keys;
pub mod resolve;
pub mod routes;
pub mod sanitize;
pub mod signatures;
pub mod wire;

use std::sync::Arc;

use ferrodon_jobs::{JobError, Registry};
use ferrodon_service::Services;
use ferrodon_service::federate::{Federate, MakeKeys};

pub use error::{FedResult, FederationError};

/// What federation needs, shared by its routes and job handlers.
#[derive(Clone)]
pub struct Federation {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    options: FederationOptions,
    /// Per-process delivery state (per-host limits, breaker, signature scheme).
    hosts: delivery::Hosts,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Federation({})", self.inner.services.instance().domain)
    }
}

/// Operator choices that change how federation behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct FederationOptions {
    /// Signed requests required for ActivityPub GETs (`AUTHORIZED_FETCH`).
    pub authorized_fetch: bool,
    /// Federate only with allowed domains (`LIMITED_FEDERATION_MODE`).
    pub limited: bool,
}

impl Federation {
    pub fn new(services: Services) -> Federation {
        Federation::with_options(services, FederationOptions::default())
    }

    pub fn with_options(services: Services, options: FederationOptions) -> Federation {
        Federation {
            inner: Arc::new(Inner {
                services,
                options,
                hosts: delivery::Hosts::default(),
            }),
        }
    }

    pub fn services(&self) -> &Services {
        &self.inner.services
    }

    pub fn options(&self) -> FederationOptions {
        self.inner.options
    }

    /// Whether nothing may be exchanged with `host`: a `suspend` domain
    /// block, or (limited-federation mode) not on the allow list.
    pub async fn host_refused(&self, host: &str) -> FedResult<bool> {
        if self.services().domain_suspended(host).await? {
            return Ok(true);
        }
        Ok(self.inner.options.limited && !self.services().domain_allowed(host).await?)
    }

    /// Every route federation serves, with its state applied (merge it into
    /// the web role's router).
    pub fn router(&self) -> axum::Router {
        routes::routes().into_router().with_state(self.clone())
    }

    /// Adds the handlers of the job kinds federation runs (those the
    /// service layer declares in `service::federate`) to a worker's registry.
    pub fn register(&self, registry: &mut Registry<Services>) {
        let fed = self.clone();
        registry.handle(move |job: MakeKeys, _: Services| {
            let fed = fed.clone();
            async move {
                match fed.account_keys(job.account_id).await {
                    Ok(_) | Err(FederationError::NotFound) => Ok(()),
                    Err(e) => Err(JobError::new(e.to_string())),
                }
            }
        });
        let fed = self.clone();
        registry.handle(move |job: Federate, _: Services| {
            let fed = fed.clone();
            async move { fed.federate(&job).await.map_err(delivery::job_error) }
        });
        let fed = self.clone();
        registry.handle(move |job: delivery::DeliverHost, _: Services| {
            let fed = fed.clone();
            async move { fed.deliver_host(&job).await.map_err(delivery::job_error) }
        });
        let fed = self.clone();
        registry.handle(move |job: delivery::RetryHost, _: Services| {
            let fed = fed.clone();
            async move { fed.deliver_host(&job.0).await.map_err(delivery::job_error) }
        });
        let fed = self.clone();
        registry.handle(move |job: inbox::Ingest, _: Services| {
            let fed = fed.clone();
            async move {
                match fed.ingest(&job).await {
                    Ok(()) => Ok(()),
                    // Refused or malformed: retrying changes nothing.
                    Err(
                        e @ (FederationError::Forbidden(_)
                        | FederationError::BadRequest(_)
                        | FederationError::NotFound
                        | FederationError::Gone
                        | FederationError::Unprocessable(_)),
                    ) => {
                        tracing::info!(error = %e, "inbound activity dropped");
                        Ok(())
                    }
                    Err(e) => Err(delivery::job_error(e)),
                }
            }
        });
    }
}
