//! Remote `verify` (远程校验): the tlog-tiles resources of a `lianlog serve` ledger fetched over
//! HTTP for [`lianlog_ledger::tiles::verify_tiles`], which checks everything client-side.
//!
//! Guarantees: this module only fetches — `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]` and
//! `GET /tile/entries/…` / `GET /lianlog/v1/bodies/…` — and hands the bytes over unchanged; every
//! rule (signatures, authority, chain, tree, tiles, checkpoint) is the library's, the same verifier
//! as a local `verify`. Public resources (the checkpoint, hash tiles) are fetched unsigned; entry
//! bundles and bodies are signed with the caller's identity when one is given (a server without
//! `--public-entries` requires it).

use lianlog_ledger::tiles::{Tile, TileKind, TileSource, TilesVerified, verify_tiles};
use lianlog_ledger::verify::{Progress, VerifyFailure, VerifyOptions};
use lianlog_ledger::{Error, Result};

use crate::Client;

/// The tiles of one server: `public` fetches the checkpoint and hash tiles, `entries` (signed
/// when the caller has an identity) the entry bundles and bodies.
pub struct RemoteTiles<'a> {
    public: &'a Client,
    entries: &'a Client,
}

impl<'a> RemoteTiles<'a> {
    /// Fetch public resources with `public` and entries and bodies with `entries` (they may be
    /// the same client).
    pub fn new(public: &'a Client, entries: &'a Client) -> RemoteTiles<'a> {
        RemoteTiles { public, entries }
    }
}

impl TileSource for RemoteTiles<'_> {
    fn checkpoint(&mut self) -> Result<String> {
        let response = self.public.get("/checkpoint")?;
        let note = String::from_utf8(response.into_body()).map_err(|_| {
            Error::verification(format!("{}/checkpoint: the checkpoint is not UTF-8 text", self.public.url()))
        })?;
        Ok(note)
    }

    fn fetch(&mut self, tile: &Tile) -> Result<Vec<u8>> {
        let client = match tile.kind {
            TileKind::Hash(_) => self.public,
            TileKind::Entries | TileKind::Bodies => self.entries,
        };
        Ok(client.get(&format!("/{}", tile.path()))?.into_body())
    }
}

/// Verify the ledger served at `public`'s URL (see [`RemoteTiles`] for the two clients) with the
/// library's verifier; `options` pins the log key and asks for archived checkpoints' roots.
pub fn verify(
    public: &Client,
    entries: &Client,
    options: VerifyOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<std::result::Result<TilesVerified, VerifyFailure>> {
    verify_tiles(&mut RemoteTiles::new(public, entries), options, progress)
}
