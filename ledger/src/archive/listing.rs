//! Listing a directory of archives from their manifests alone (their contents are verified by
//! `verify`, not here), and how they chain per ledger: the shortest run from seq 0 and the first
//! gap.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::manifest::Manifest;
use super::reading::read_head;
use crate::error::{Error, Result};

/// One file of a directory of archives.
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: PathBuf,
    /// Its manifest, or why it is not a readable archive.
    pub manifest: std::result::Result<Manifest, String>,
    pub bytes: u64,
}

/// The archives of one ledger in a directory and how they chain.
#[derive(Debug, Clone)]
pub struct Chain {
    pub origin: String,
    /// The shortest run of archives from seq 0 to the largest end reachable without a gap.
    pub chain: Vec<PathBuf>,
    /// The end of that run.
    pub end: u64,
    /// The largest end of any archive.
    pub newest_end: u64,
    /// The first seq that no archive chained from 0 starts at, when the archives do not reach
    /// `newest_end` unbroken.
    pub gap: Option<u64>,
}

/// What [`list`] found.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Every `*.tar` and `*.tar.zst` file, by name.
    pub archives: Vec<Listed>,
    pub chains: Vec<Chain>,
}

/// List the archives in `dir` from their manifests (their contents are not verified: that is
/// `verify`) and how they chain, per ledger.
pub fn list(dir: &Path) -> Result<Listing> {
    let listing = std::fs::read_dir(dir).map_err(|err| Error::io("list", dir, err))?;
    let mut archives = Vec::new();
    for item in listing {
        let item = item.map_err(|err| Error::io("list", dir, err))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !(name.ends_with(".tar") || name.ends_with(".tar.zst")) {
            continue;
        }
        let path = item.path();
        let bytes = item.metadata().map(|m| m.len()).unwrap_or(0);
        let manifest = match read_head(&path) {
            Ok(Ok((manifest, _))) => Ok(manifest),
            Ok(Err(failure)) => Err(failure.reason),
            Err(err) => Err(err.to_string()),
        };
        archives.push(Listed { path, manifest, bytes });
    }
    archives.sort_by(|a, b| {
        let key = |l: &Listed| l.manifest.as_ref().map(|m| (m.origin.clone(), m.first_seq, m.end)).ok();
        key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
    });
    let mut origins: Vec<String> =
        archives.iter().filter_map(|l| l.manifest.as_ref().ok().map(|m| m.origin.clone())).collect();
    origins.dedup();
    let chains = origins.into_iter().map(|origin| chain_of(&archives, origin)).collect();
    Ok(Listing { archives, chains })
}

fn chain_of(archives: &[Listed], origin: String) -> Chain {
    let ranges: Vec<(u64, u64, &Path)> = archives
        .iter()
        .filter_map(|l| {
            l.manifest.as_ref().ok().filter(|m| m.origin == origin).map(|m| (m.first_seq, m.end, l.path.as_path()))
        })
        .collect();
    // Shortest chain to each reachable end (ranges are sorted by first seq).
    let mut best: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    best.insert(0, Vec::new());
    for (first, end, path) in &ranges {
        if let Some(before) = best.get(first).cloned() {
            let mut chain = before;
            chain.push(path.to_path_buf());
            let better = best.get(end).is_none_or(|known| known.len() > chain.len());
            if better {
                best.insert(*end, chain);
            }
        }
    }
    let newest_end = ranges.iter().map(|(_, end, _)| *end).max().unwrap_or(0);
    let (end, chain) = best.into_iter().next_back().unwrap_or_default();
    Chain { origin, chain, end, newest_end, gap: (end < newest_end).then_some(end) }
}

/// The archive of `origin` in `dir` that ends latest, if any.
pub fn newest(dir: &Path, origin: &str) -> Result<Option<(PathBuf, Manifest)>> {
    if !dir.exists() {
        return Ok(None);
    }
    let listing = list(dir)?;
    Ok(listing
        .archives
        .into_iter()
        .filter_map(|l| l.manifest.ok().filter(|m| m.origin == origin).map(|m| (l.path, m)))
        .max_by_key(|(_, m)| (m.end, std::cmp::Reverse(m.first_seq))))
}
