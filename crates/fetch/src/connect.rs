//! The last check, on the connection itself: a reqwest `connector_layer`
//! that looks at the peer address of every new connection (plain or TLS,
//! before any byte of the request is written) and drops the connection when
//! the guard refuses that address.
//!
//! The resolver and the URL checks refuse before connecting, so this layer
//! never fires in practice; it is the backstop should a road around them
//! ever open (a new reqwest code path, a resolver bug). It fails closed: a
//! connection whose peer address is unknown is refused too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connection, HttpInfo};
use tower::{Layer, Service};

use crate::{AddressGuard, FetchError, GuardError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub(crate) struct PeerCheckLayer {
    pub(crate) guard: Arc<AddressGuard>,
}

impl<S> Layer<S> for PeerCheckLayer {
    type Service = PeerCheck<S>;

    fn layer(&self, inner: S) -> PeerCheck<S> {
        PeerCheck {
            inner,
            guard: self.guard.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PeerCheck<S> {
    inner: S,
    guard: Arc<AddressGuard>,
}

impl<S, R> Service<R> for PeerCheck<S>
where
    S: Service<R, Error = BoxError>,
    S::Response: Connection + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let guard = self.guard.clone();
        let connecting = self.inner.call(request);
        Box::pin(async move {
            let conn = connecting.await?;
            let mut extras = http::Extensions::new();
            conn.connected().get_extras(&mut extras);
            match extras.get::<HttpInfo>().map(HttpInfo::remote_addr) {
                Some(peer) if guard.allows(peer.ip()) => Ok(conn),
                Some(peer) => Err(Box::new(GuardError::Refused(FetchError::PrivateAddress(
                    peer.ip().to_string(),
                ))) as BoxError),
                None => Err(Box::new(GuardError::Refused(FetchError::PrivateAddress(
                    "a connection without a known peer address".to_owned(),
                ))) as BoxError),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};
    use tower::ServiceExt;

    /// A connector dialling a loopback listener, wrapped by the layer.
    async fn connect_through(guard: AddressGuard) -> Result<TcpStream, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connector = tower::service_fn(move |(): ()| async move {
            TcpStream::connect(addr).await.map_err(BoxError::from)
        });
        let layer = PeerCheckLayer {
            guard: Arc::new(guard),
        };
        layer.layer(connector).oneshot(()).await
    }

    #[tokio::test]
    async fn a_connection_to_a_refused_peer_is_dropped() -> Result<(), BoxError> {
        let err = connect_through(AddressGuard::default()).await.err();
        let refused = err
            .as_deref()
            .and_then(|e| e.downcast_ref::<GuardError>())
            .map(|GuardError::Refused(f)| f.clone());
        assert_eq!(
            refused,
            Some(FetchError::PrivateAddress("127.0.0.1".to_owned()))
        );
        let allowed = AddressGuard::only(vec!["127.0.0.1/32".parse()?]);
        assert!(connect_through(allowed).await.is_ok());
        Ok(())
    }
}
