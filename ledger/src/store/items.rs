//! Append-only files of fixed-size items (定长条目文件), read by item number with `pread`.
//!
//! Guarantees: a file only grows by whole runs written at the end the caller names, and is cut
//! back only to a length the caller proves was applied ([`ItemFile::cut_to`]); a file shorter
//! than that is reported as damage, never padded. Reads never move a file cursor, so a reader
//! holding the file sees every item up to a count it learnt before, whatever a writer appends.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Consecutive items of an [`ItemFile`] to write, starting at item `first`.
#[derive(Default)]
pub(super) struct Run {
    pub first: u64,
    pub bytes: Vec<u8>,
}

impl Run {
    /// A run that starts at item `first` (when nothing is pushed at a given item first).
    pub fn starting_at(first: u64) -> Run {
        Run { first, bytes: Vec::new() }
    }

    /// Add item number `item` (the next one) of `size` bytes.
    pub fn push(&mut self, item: u64, bytes: &[u8], size: u64) {
        if self.bytes.is_empty() {
            self.first = item;
        }
        // Entries are staged in seq order and the tree completes its nodes in slot order, so a
        // batch's items are always consecutive.
        debug_assert_eq!(self.first + self.bytes.len() as u64 / size, item, "items out of order");
        self.bytes.extend_from_slice(bytes);
    }

    /// Item `number` of size `size` if this run holds it.
    pub fn get(&self, number: u64, size: u64) -> Option<&[u8]> {
        let start = number.checked_sub(self.first)?.checked_mul(size)? as usize;
        self.bytes.get(start..start + size as usize)
    }
}

/// A file of fixed-size items, appended at the end and read by item number with `pread`.
pub(super) struct ItemFile {
    file: std::fs::File,
    pub path: PathBuf,
    item_bytes: u64,
}

impl ItemFile {
    /// Open (or create, 0600, no link) the file at `path` of `item_bytes`-byte items.
    pub fn open(path: PathBuf, item_bytes: u64) -> Result<ItemFile> {
        let file = crate::fsio::open_or_create_in_ledger(&path)?;
        Ok(ItemFile { file, path, item_bytes })
    }

    /// Write `run` at its place (not a durability barrier: derived data).
    pub fn write_run(&self, run: &Run) -> Result<()> {
        use std::os::unix::fs::FileExt as _;
        if run.bytes.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&run.bytes, run.first * self.item_bytes)
            .map_err(|err| Error::io("write", &self.path, err))
    }

    /// Items from `number` on into `out` (as many as it holds), or `false` past the end.
    pub fn read(&self, number: u64, out: &mut [u8]) -> Result<bool> {
        use std::os::unix::fs::FileExt as _;
        match self.file.read_exact_at(out, number * self.item_bytes) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(err) => Err(Error::io("read", &self.path, err)),
        }
    }

    /// Keep exactly `items` items; fails (as damage) if there are fewer.
    pub fn cut_to(&self, items: u64) -> Result<()> {
        let length = self.file.metadata().map_err(|err| Error::io("inspect", &self.path, err))?.len();
        let have = length / self.item_bytes;
        if have < items {
            return Err(Error::new(
                crate::ErrorKind::Store,
                format!("derived store: {} holds {have} items, {items} expected", self.path.display()),
            ));
        }
        // Whole items past the head, or part of one: what an interrupted batch left.
        if length != items * self.item_bytes {
            self.file.set_len(items * self.item_bytes).map_err(|err| Error::io("truncate", &self.path, err))?;
        }
        Ok(())
    }
}
