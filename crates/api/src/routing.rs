//! A router that can be listed: [`Routes`] adds each route to an axum
//! [`Router`] and records its method and path template in the same call, so
//! the list ([`crate::route_table`]) cannot differ from what is served. The
//! functions [`get`], [`post`], [`put`], [`patch`] and [`delete`] stand in for
//! axum's and record the methods they add.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

/// The handlers of one path, with the methods they answer.
pub struct Methods<S> {
    router: MethodRouter<S>,
    methods: Vec<Method>,
}

macro_rules! method {
    ($(#[$doc:meta])* $name:ident, $method:expr) => {
        $(#[$doc])*
        pub fn $name<H, T, S>(handler: H) -> Methods<S>
        where
            H: Handler<T, S>,
            T: 'static,
            S: Clone + Send + Sync + 'static,
        {
            Methods {
                router: axum::routing::$name(handler),
                methods: vec![$method],
            }
        }

        impl<S: Clone + Send + Sync + 'static> Methods<S> {
            $(#[$doc])*
            pub fn $name<H, T>(mut self, handler: H) -> Self
            where
                H: Handler<T, S>,
                T: 'static,
            {
                self.router = self.router.$name(handler);
                self.methods.push($method);
                self
            }
        }
    };
}

method!(
    /// `GET` (axum also answers `HEAD` with it).
    get,
    Method::GET
);
method!(
    /// `POST`.
    post,
    Method::POST
);
method!(
    /// `PUT`.
    put,
    Method::PUT
);
method!(
    /// `PATCH`.
    patch,
    Method::PATCH
);
method!(
    /// `DELETE`.
    delete,
    Method::DELETE
);

impl<S: Clone + Send + Sync + 'static> Methods<S> {
    /// A body limit for these methods only (uploads).
    pub fn layer(mut self, limit: DefaultBodyLimit) -> Self {
        self.router = self.router.layer(limit);
        self
    }
}

/// A router being built, with the list of what it serves.
pub struct Routes<S> {
    router: Router<S>,
    table: Vec<(Method, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `methods` at `path` (an axum template: `/a/{id}`, `/b/{*rest}`).
    pub fn route(mut self, path: &'static str, methods: Methods<S>) -> Self {
        self.router = self.router.route(path, methods.router);
        self.table
            .extend(methods.methods.into_iter().map(|m| (m, path)));
        self
    }

    /// Every (method, path template) added, in the order added.
    pub fn table(&self) -> Vec<(Method, &'static str)> {
        self.table.clone()
    }

    /// The axum router.
    pub fn into_router(self) -> Router<S> {
        self.router
    }
}
