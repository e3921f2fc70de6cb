//! Name resolution and the record of dials.
//!
//! reqwest hands every host *name* to the client's resolver
//! ([`GuardedResolver`]), which asks a [`DnsResolver`] (the system's by
//! default; tests inject a [`StaticResolver`]) and keeps only the addresses
//! the [`AddressGuard`] allows. IP-literal hosts never reach a resolver: the
//! [`Fetcher`](crate::Fetcher) checks them before sending.
//!
//! A [`DialLog`] records every address the client is about to dial: the
//! resolver's allowed answers (hyper tries exactly those) and the IP-literal
//! hosts of requests that passed the checks. It is recorded *before* the
//! connection attempt, so an address refused before connecting never
//! appears; it is an over-approximation (a pooled connection may be reused,
//! and hyper may stop after the first address that answers), so an empty
//! log proves no connection was attempted.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{AddressGuard, FetchError, GuardError};

/// What a [`DnsResolver`] returns.
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a host name into addresses. Implementations need not filter
/// anything: the guard does.
pub trait DnsResolver: Send + Sync + std::fmt::Debug + 'static {
    fn lookup(&self, host: String) -> LookupFuture;
}

/// The system's resolver (`getaddrinfo`, on tokio's blocking pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl DnsResolver for SystemResolver {
    fn lookup(&self, host: String) -> LookupFuture {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Fixed answers, for tests: a name maps to the addresses given; any other
/// name does not exist.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    names: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// `name` resolves to `addrs` (lower-case names; reqwest passes them so).
    pub fn with(mut self, name: &str, addrs: &[IpAddr]) -> StaticResolver {
        self.names.insert(name.to_ascii_lowercase(), addrs.to_vec());
        self
    }
}

impl DnsResolver for StaticResolver {
    fn lookup(&self, host: String) -> LookupFuture {
        let found = self.names.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no such name: {host}"))
            })
        })
    }
}

/// One address the client was about to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// The host as the request named it (a name or an IP literal).
    pub host: String,
    pub ip: IpAddr,
}

/// A shared, append-only record of [`Dial`]s (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct DialLog {
    dials: Arc<Mutex<Vec<Dial>>>,
}

impl DialLog {
    pub fn new() -> DialLog {
        DialLog::default()
    }

    pub(crate) fn record(&self, host: &str, ip: IpAddr) {
        let mut dials = self.dials.lock().unwrap_or_else(|e| e.into_inner());
        dials.push(Dial {
            host: host.to_owned(),
            ip,
        });
    }

    /// Everything recorded so far.
    pub fn dials(&self) -> Vec<Dial> {
        self.dials.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Empties the record, returning what it held.
    pub fn take(&self) -> Vec<Dial> {
        std::mem::take(&mut *self.dials.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The client's resolver: a [`DnsResolver`]'s answers, with the addresses
/// the guard refuses dropped (all refused: an error naming the host).
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub(crate) guard: Arc<AddressGuard>,
    pub(crate) inner: Arc<dyn DnsResolver>,
    pub(crate) log: Option<DialLog>,
}

fn refused(host: String) -> Box<dyn StdError + Send + Sync> {
    Box::new(GuardError::Refused(FetchError::PrivateAddress(host)))
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Nothing could be reached: not even a DNS query.
            if this.guard.reaches_nothing() {
                return Err(refused(host));
            }
            let found = this.inner.lookup(host.clone()).await?;
            let allowed: Vec<IpAddr> = found
                .into_iter()
                .filter(|ip| this.guard.allows(*ip))
                .collect();
            if allowed.is_empty() {
                return Err(refused(host));
            }
            if let Some(log) = &this.log {
                for ip in &allowed {
                    log.record(&host, *ip);
                }
            }
            let addrs: Vec<SocketAddr> = allowed
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
