//! C2SP tlog-tiles routes (`GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]`).
//! Owned by the `tiles` work; empty until it lands.

use std::sync::Arc;

use axum::Router;

use super::ServeState;

/// The tile routes.
pub(crate) fn routes() -> Router<Arc<ServeState>> {
    Router::new()
}
