//! C2SP tlog-tiles routes: `GET /tile/<L>/<N>[.p/<W>]` (hash tiles, public),
//! `GET /tile/entries/<N>[.p/<W>]` (entry bundles) and lianlog's `GET /lianlog/v1/bodies/<N>[.p/<W>]`
//! (the `ledger.*` and `key.*` lines of a bundle, which a remote `verify` needs).
//!
//! Guarantees: the path is parsed by the library's strict parser (`Tile::parse`: a malformed path
//! is a 400 problem naming what is wrong) and the bytes come from the library
//! (`Ledger::hash_tile`, `Ledger::entry_bundle`, `Ledger::verifier_bodies`) under the ledger's read
//! lock, unchanged; a tile that does not exist in the ledger as it stands is a 404. Entry bundles
//! and bodies need a signed request by a key holding a role (admin, officer or auditor) unless
//! the server runs with `--public-entries`; hash tiles reveal nothing but sizes and are public.
//! Every tile is immutable once it exists (a partial tile is a prefix of the full one), so each
//! answer may be cached for a year: publicly for public resources, privately for signed ones.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lianlog_ledger::tiles::{Tile, TileKind};

use super::problem::{Code, Problem};
use super::{ServeState, blocking};

/// The content type of tiles and bundles (tlog-tiles).
const OCTET_STREAM: &str = "application/octet-stream";
/// The content type of the bodies resource: stored lines, JSON Lines.
const JSON_LINES: &str = "application/jsonl";
/// Immutable resources: one year (tlog-tiles: "long-lived").
const PUBLIC_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Immutable resources behind a signature: no shared cache may keep them.
const PRIVATE_IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// The tile routes.
pub(crate) fn routes() -> Router<Arc<ServeState>> {
    Router::new().route("/tile/{*path}", get(tile)).route("/lianlog/v1/bodies/{*path}", get(tile))
}

/// `GET` of a hash tile, an entry bundle or bodies.
async fn tile(State(state): State<Arc<ServeState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    match serve_tile(state, method, uri, headers).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn serve_tile(state: Arc<ServeState>, method: Method, uri: Uri, headers: HeaderMap) -> Result<Response, Problem> {
    let tile = Tile::parse(uri.path())?;
    let public = match tile.kind {
        TileKind::Hash(_) => true,
        TileKind::Entries | TileKind::Bodies if state.options.public_entries => true,
        TileKind::Entries | TileKind::Bodies => {
            // `authenticate` syncs the access log and reads the registry: never on the runtime thread.
            let caller = {
                let (state, uri) = (state.clone(), uri.clone());
                blocking(move || super::auth::authenticate(&state, &method, &uri, &headers, &[])).await?
            };
            if caller.roles.is_empty() {
                return Err(Problem::new(
                    Code::Unauthorized,
                    format!(
                        "{}: the key {} holds no role in this ledger now (admin, officer or auditor may read \
                         entries); ask an admin to grant one",
                        uri.path(),
                        caller.identity
                    ),
                ));
            }
            false
        }
    };
    let path = uri.path().to_string();
    let bytes = blocking(move || {
        state
            .read(|ledger| match tile.kind {
                TileKind::Hash(_) => ledger.hash_tile(&tile),
                TileKind::Entries => ledger.entry_bundle(&tile),
                TileKind::Bodies => ledger.verifier_bodies(&tile),
            })
            .map_err(Problem::from)
    })
    .await?
    .ok_or_else(|| {
        Problem::new(
            Code::NotFound,
            format!(
                "{path}: this tile does not exist in the log as it stands (tiles exist only up to the tree size \
                 of the newest checkpoint, GET /checkpoint; levels above 7 never do)"
            ),
        )
    })?;
    let content_type = if tile.kind == TileKind::Bodies { JSON_LINES } else { OCTET_STREAM };
    let cache = if public { PUBLIC_IMMUTABLE } else { PRIVATE_IMMUTABLE };
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], bytes).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if !public {
        // An answer that depends on who asked.
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("signature, signature-input"));
    }
    Ok(response)
}
