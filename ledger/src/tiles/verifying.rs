//! Verifying a ledger from its tiles (远程校验): the checkpoint, every entry bundle, the bodies a
//! verifier needs and every hash tile, fetched through a [`TileSource`] (the HTTP client, or
//! anything else that serves the tlog-tiles resources) and checked here, client-side.
//!
//! Guarantees: the entries go through the same streaming [`Verifier`] as a local `verify` and
//! `verify --file` — as the lines of an export without bodies (format-v1 section 10): each entry of
//! a bundle becomes a withheld line, except `ledger.*` and `key.*` entries, whose full stored
//! lines are fetched and must carry exactly the bundle's entry bytes. So signatures, authority,
//! chain, time order, replays, redaction links and the tree are checked by the one verifier.
//! Then the served checkpoint must be signed by the log key (the one genesis names, or the pinned
//! one) over the root of exactly the entries fetched, and every hash tile the server serves for
//! that size must equal the tile recomputed from those entries. Nothing the server says is
//! trusted: a changed entry, a missing or extra one, a wrong tile hash, a forged body line or a
//! checkpoint over another tree is a verification failure naming the seq or tile path.

use super::{Tile, TileHashes, bundles_for, parse_bundle};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::merkle::leaf_hash;
use crate::note::VerifiedCheckpoint;
use crate::record::{ParsedLine, kind_keeps_body};
use crate::verify::{PROGRESS_EVERY, Progress, Verifier, VerifyFailure, VerifyOptions, VerifyReport};

/// Where [`verify_tiles`] reads a log: the tlog-tiles resources of one server (or a copy of
/// them). Each call is one resource; errors (unreachable, not found, refused) end the
/// verification as errors, not as verification failures.
pub trait TileSource {
    /// The log's newest checkpoint: the signed note, as served.
    fn checkpoint(&mut self) -> Result<String>;
    /// The bytes of a hash tile, an entry bundle, or the bodies of a bundle ([`Tile::path`]).
    fn fetch(&mut self, tile: &Tile) -> Result<Vec<u8>>;
}

/// A remote verification that passed.
#[derive(Debug, Clone)]
pub struct TilesVerified {
    /// What the verifier found: as `verify --file` on the ledger's export without bodies.
    pub report: VerifyReport,
    /// The server's checkpoint, verified against the log key and the entries.
    pub checkpoint: VerifiedCheckpoint,
    /// That checkpoint's signed note exactly as served, with any cosignatures on it (for a caller
    /// who requires witnesses: `note::open_checkpoint` with its cosigner policy).
    pub note: String,
    /// Entry bundles fetched.
    pub bundles: u64,
    /// Bodies resources fetched (bundles holding `ledger.*` or `key.*` entries).
    pub bodies: u64,
    /// Hash tiles fetched and compared.
    pub tiles: u64,
}

/// Verify the log a [`TileSource`] serves, up to the size of its checkpoint (see the module
/// docs). `options.expected_log_key` pins the log key; `options.root_sizes` asks for the roots
/// that archived checkpoints need (the checkpoint's own size is added). Progress is reported as
/// `verifying`, entries done of the checkpoint's size.
pub fn verify_tiles(
    source: &mut dyn TileSource,
    mut options: VerifyOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<std::result::Result<TilesVerified, VerifyFailure>> {
    let note = source.checkpoint()?;
    let size = {
        let parsed = crate::note::Note::parse(&note).map_err(|e| e.at("the server's checkpoint"))?;
        crate::note::Checkpoint::parse_text(&parsed.text).map_err(|e| e.at("the server's checkpoint"))?.size
    };
    let pinned: Option<PublicKey> = options.expected_log_key.clone();
    options.allow_withheld = true;
    options.root_sizes.push(size);
    let mut run = Run { verifier: Verifier::new(options), tiles: TileHashes::new(), counts: Counts::default() };
    progress(Progress { phase: "verifying", done: 0, total: size });
    for bundle in bundles_for(size) {
        if let Err(failure) = run.bundle(source, &bundle)? {
            return Ok(Err(failure));
        }
        let done = bundle.first_leaf().unwrap_or(0) + u64::from(bundle.width);
        if done.is_multiple_of(PROGRESS_EVERY) || done == size {
            progress(Progress { phase: "verifying", done, total: size });
        }
    }
    for (tile, expected) in run.tiles.partial_tiles() {
        if let Err(failure) = run.compare_tile(source, &tile, &expected)? {
            return Ok(Err(failure));
        }
    }
    let Run { verifier, counts, .. } = run;
    let mut fetch_error = None;
    let finished = verifier.finish(|seq| {
        reread(source, size, seq).map_err(|e| {
            let message = e.message().to_string();
            fetch_error = Some(e);
            message
        })
    });
    if let Some(err) = fetch_error {
        return Err(err);
    }
    let report = match finished {
        Ok(report) => report,
        Err(failure) => return Ok(Err(failure)),
    };
    let no_cosigners: &[PublicKey] = &[];
    let checkpoint = match crate::verify::check_checkpoint(&report, &note, pinned.as_ref(), no_cosigners) {
        Ok(checkpoint) => checkpoint,
        Err(err) => {
            return Ok(Err(VerifyFailure {
                line: report.entries,
                seq: None,
                reason: format!("the server's checkpoint: {}", err.message()),
            }));
        }
    };
    Ok(Ok(TilesVerified {
        report,
        checkpoint,
        note,
        bundles: counts.bundles,
        bodies: counts.bodies,
        tiles: counts.tiles,
    }))
}

/// The state of one remote verification.
struct Run {
    verifier: Verifier,
    tiles: TileHashes,
    counts: Counts,
}

/// Resources fetched so far.
#[derive(Default)]
struct Counts {
    bundles: u64,
    bodies: u64,
    tiles: u64,
}

impl Run {
    /// Fetch one entry bundle (and its bodies if it needs them), feed its lines to the verifier
    /// and compare every hash tile its entries complete.
    fn bundle(&mut self, source: &mut dyn TileSource, bundle: &Tile) -> Result<std::result::Result<(), VerifyFailure>> {
        let first = bundle.first_leaf().unwrap_or(0);
        let bytes = source.fetch(bundle)?;
        self.counts.bundles += 1;
        let lines = match bundle_lines(source, bundle, &bytes, &mut self.counts.bodies)? {
            Ok(lines) => lines,
            Err(failure) => return Ok(Err(failure)),
        };
        let mut completed = Vec::new();
        for (seq, (line, entry_hash)) in (first..).zip(lines) {
            if let Err(failure) = self.verifier.push(seq + 1, line) {
                return Ok(Err(failure));
            }
            self.tiles.push(entry_hash, &mut |tile, bytes| completed.push((tile, bytes)));
        }
        for (tile, expected) in completed {
            if let Err(failure) = self.compare_tile(source, &tile, &expected)? {
                return Ok(Err(failure));
            }
        }
        Ok(Ok(()))
    }

    /// Fetch a hash tile and compare it with the one recomputed from verified entries. On a
    /// difference, the entries pushed so far are checked first, so that a bad entry is named
    /// rather than the tile it spoils.
    fn compare_tile(
        &mut self,
        source: &mut dyn TileSource,
        tile: &Tile,
        expected: &[u8],
    ) -> Result<std::result::Result<(), VerifyFailure>> {
        let served = source.fetch(tile)?;
        self.counts.tiles += 1;
        if served == expected {
            return Ok(Ok(()));
        }
        self.verifier
            .verify_pushed()
            .map(|()| Err(tile_failure(tile, &served, expected)))
            .or_else(|failure| Ok(Err(failure)))
    }
}

/// The failure for a served hash tile that differs from the recomputed one: which hash, and the
/// first entry it covers.
fn tile_failure(tile: &Tile, served: &[u8], expected: &[u8]) -> VerifyFailure {
    let level_span = 1u64 << (u32::from(super::TILE_HEIGHT) * u32::from(tile.level()));
    let first = tile.index.saturating_mul(u64::from(super::TILE_WIDTH)).saturating_mul(level_span);
    let reason = if served.len() != expected.len() {
        format!(
            "the server's hash tile {} is {} bytes where {} hashes ({} bytes) were expected",
            tile.path(),
            served.len(),
            tile.width,
            expected.len()
        )
    } else {
        let hash = served.chunks(super::HASH_BYTES).zip(expected.chunks(super::HASH_BYTES)).position(|(a, b)| a != b);
        let hash = hash.unwrap_or(0) as u64;
        let seq = first.saturating_add(hash.saturating_mul(level_span));
        format!(
            "the server's hash tile {} differs from the tree of the verified entries at hash {hash} (the subtree \
             starting at seq {seq}): the server serves a tampered or inconsistent tile",
            tile.path()
        )
    };
    VerifyFailure { line: first.saturating_add(1), seq: Some(first), reason }
}

/// A line as the verifier takes it, with its entry hash.
type LineAndHash = (Vec<u8>, crate::merkle::Hash);

/// The lines of one bundle as an export without bodies holds them, with each entry's hash.
/// `ledger.*` and `key.*` entries take their full line from the bundle's bodies (fetched once,
/// counted in `bodies`), which must carry exactly the bundle's entry bytes.
fn bundle_lines(
    source: &mut dyn TileSource,
    bundle: &Tile,
    bytes: &[u8],
    bodies: &mut u64,
) -> Result<std::result::Result<Vec<LineAndHash>, VerifyFailure>> {
    let first = bundle.first_leaf().unwrap_or(0);
    let fail = |seq: u64, reason: String| VerifyFailure { line: seq + 1, seq: Some(seq), reason };
    let entries = match parse_bundle(bytes, bundle.width) {
        Ok(entries) => entries,
        Err(err) => return Ok(Err(fail(first, format!("the server's {}: {}", bundle.path(), err.message())))),
    };
    let mut fetched: Option<std::vec::IntoIter<Vec<u8>>> = None;
    let mut lines = Vec::with_capacity(entries.len());
    for (seq, entry) in (first..).zip(entries) {
        let withheld = withheld_line(entry);
        let hash = leaf_hash(entry);
        // A line that does not parse goes to the verifier as it is: it reports it like any bad line.
        let keeps_body =
            ParsedLine::parse(&withheld).is_ok_and(|parsed| kind_keeps_body(&parsed.line.entry.record.kind));
        if !keeps_body {
            lines.push((withheld, hash));
            continue;
        }
        if fetched.is_none() {
            let served = source.fetch(&bundle.as_bodies())?;
            *bodies += 1;
            fetched = Some(split_lines(&served).into_iter());
        }
        let Some(full) = fetched.as_mut().and_then(Iterator::next) else {
            return Ok(Err(fail(
                seq,
                format!("the server's {} holds no line for this entry, whose body verifiers need", bundle.as_bodies()),
            )));
        };
        match ParsedLine::parse(&full) {
            Ok(parsed) if parsed.entry_bytes == entry => lines.push((full, hash)),
            Ok(_) => {
                return Ok(Err(fail(
                    seq,
                    format!(
                        "the server's {} gives this entry's body with another entry than its bundle",
                        bundle.as_bodies()
                    ),
                )));
            }
            Err(err) => return Ok(Err(fail(seq, format!("the server's {}: {err}", bundle.as_bodies())))),
        }
    }
    if let Some(extra) = fetched.as_mut().and_then(Iterator::next) {
        let _ = extra;
        return Ok(Err(fail(
            first,
            format!(
                "the server's {} holds more lines than the bundle has ledger.* and key.* entries",
                bundle.as_bodies()
            ),
        )));
    }
    Ok(Ok(lines))
}

/// `{"entry":<entry>,"withheld":true}`: the export-without-bodies line of an entry (canonical:
/// the members are in key order).
fn withheld_line(entry: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(entry.len() + 28);
    line.extend_from_slice(b"{\"entry\":");
    line.extend_from_slice(entry);
    line.extend_from_slice(b",\"withheld\":true}");
    line
}

/// The lines of a JSON Lines text (each ends with `\n`; a last line without one counts too).
fn split_lines(text: &[u8]) -> Vec<Vec<u8>> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

/// The line of entry `seq` again (for a redaction target the verifier re-reads), fetched anew.
fn reread(source: &mut dyn TileSource, size: u64, seq: u64) -> Result<Vec<u8>> {
    let bundle = bundles_for(size)
        .nth(usize::try_from(seq >> super::TILE_HEIGHT).unwrap_or(usize::MAX))
        .ok_or_else(|| Error::bad_input(format!("there is no entry {seq} in a tree of {size}")))?;
    let bytes = source.fetch(&bundle)?;
    let mut bodies = 0;
    let lines = bundle_lines(source, &bundle, &bytes, &mut bodies)?
        .map_err(|failure| Error::verification(failure.to_string()))?;
    let offset = usize::try_from(seq - bundle.first_leaf().unwrap_or(0)).unwrap_or(usize::MAX);
    lines.into_iter().nth(offset).map(|(line, _)| line).ok_or_else(|| Error::bad_input(format!("no entry {seq}")))
}
