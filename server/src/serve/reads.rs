//! Authenticated read routes under `/lianlog/v1/…` (show, log, dossier, query, …).
//! Owned by the `reads` work; empty until it lands.

use std::sync::Arc;

use axum::Router;

use super::ServeState;

/// The authenticated read routes.
pub(crate) fn routes() -> Router<Arc<ServeState>> {
    Router::new()
}
