//! Sorted tables (有序表): the projections' state as of the last compaction, one immutable file of
//! keys and values in key order, read by `pread`.
//!
//! Why: sled's open time, disk use and write cost follow the size of its file (it reads every
//! segment's header, zeroes its free segments and rebuilds its page table on every open:
//! measured, docs/PERFORMANCE.md), and the case states, index heads and statistics grow with the
//! ledger. So sled holds only what changed since the last compaction (`store/state.rs`), and
//! everything older lies here, where opening costs one read of a footer whatever the size.
//!
//! Layout of `index/state-<generation>.table`: records `[key length u16 BE][value length u32
//! BE][key][value]` in strictly increasing key order, in blocks of [`BLOCK_RECORDS`]; then the
//! block index: for each block its offset (u64 BE), the first 8 bytes of the SHA-256 of its bytes,
//! its first key's length (u16 BE) and key; then the footer: the offset of the block index (u64
//! BE), the number of records (u64 BE), the first 16 bytes of the SHA-256 of the block index, and
//! [`MAGIC`].
//!
//! Guarantees: a table is written whole to a temporary file, fsync'd, and only then given its name
//! ([`crate::fsio::publish`]), so a table under its name is complete; a table whose footer, index
//! or blocks do not parse or do not match their hashes is reported as a damaged store (rebuilt
//! from the log), never read past its bounds and never answered from; a lookup reads the block
//! index once per process (lazily: commands that ask for no state never read it) and then one
//! block per key.

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Records per block: a lookup reads one block (a few KiB).
const BLOCK_RECORDS: u64 = 32;
const MAGIC: &[u8; 8] = b"LLSTATE1";
const FOOTER_BYTES: u64 = 8 + 8 + 16 + 8;
/// Bytes of a block index item before its key: offset, block hash, key length.
const INDEX_ITEM_HEADER: usize = 8 + 8 + 2;
const RECORD_HEADER: usize = 2 + 4;
/// Largest value a table holds (a projection's state is a few hundred bytes; this only bounds
/// what a damaged file can make us allocate).
const MAX_VALUE_BYTES: u32 = 16 << 20;

/// An open sorted table.
pub(super) struct Table {
    file: std::fs::File,
    path: PathBuf,
    records: u64,
    /// Where the block index starts (the end of the records).
    index_at: u64,
    /// The hash of the block index (from the footer).
    index_hash: [u8; 16],
    /// The block index: each block's offset, hash and first key, read on first use.
    blocks: OnceLock<std::result::Result<Vec<Block>, String>>,
    /// Blocks that point lookups read last, checked against their hashes once: the table never
    /// changes, and a query's lookups (a dossier's case states, its records' corrections, most
    /// of them absent) fall in a few blocks, each read and hashed again before.
    recent: crate::recent::Recent<std::sync::Arc<Vec<u8>>>,
}

/// Blocks a table keeps for point lookups (each about 32 records).
const RECENT_BLOCKS: usize = 32;

struct Block {
    offset: u64,
    hash: [u8; 8],
    first_key: Vec<u8>,
}

fn hash_of<const N: usize>(bytes: &[u8]) -> [u8; N] {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = [0u8; N];
    out.copy_from_slice(&digest[..N]);
    out
}

fn damaged(path: &Path, what: &str) -> Error {
    Error::new(
        crate::ErrorKind::Store,
        format!(
            "derived store: {} is damaged ({what}); it holds only derived data: run `lianlog reindex`",
            path.display()
        ),
    )
}

impl Table {
    /// Open the table at `path` and check its footer.
    pub fn open(path: PathBuf) -> Result<Table> {
        let file = match crate::fsio::open_read(&path, crate::fsio::Links::Refuse) {
            Ok(file) => file,
            // The generation's table is missing or a link: the store is damaged, not the disk.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(damaged(&path, "missing")),
            Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(damaged(&path, "a link")),
            Err(err) => return Err(Error::io("read", &path, err)),
        };
        let length = file.metadata().map_err(|err| Error::io("inspect", &path, err))?.len();
        if length < FOOTER_BYTES {
            return Err(damaged(&path, "shorter than its footer"));
        }
        let mut footer = [0u8; FOOTER_BYTES as usize];
        file.read_exact_at(&mut footer, length - FOOTER_BYTES).map_err(|err| Error::io("read", &path, err))?;
        let word = |at: usize| u64::from_be_bytes(footer[at..at + 8].try_into().unwrap_or_default());
        let (index_at, records) = (word(0), word(8));
        if &footer[32..] != MAGIC || index_at > length - FOOTER_BYTES {
            return Err(damaged(&path, "no valid footer"));
        }
        let mut index_hash = [0u8; 16];
        index_hash.copy_from_slice(&footer[16..32]);
        Ok(Table {
            file,
            path,
            records,
            index_at,
            index_hash,
            blocks: OnceLock::new(),
            recent: crate::recent::Recent::new(RECENT_BLOCKS),
        })
    }

    /// How many keys the table holds.
    pub fn len(&self) -> u64 {
        self.records
    }

    fn blocks(&self) -> Result<&[Block]> {
        let loaded = self.blocks.get_or_init(|| self.read_blocks().map_err(|err| err.message().to_string()));
        match loaded {
            Ok(blocks) => Ok(blocks),
            Err(message) => Err(Error::new(crate::ErrorKind::Store, message.clone())),
        }
    }

    fn read_blocks(&self) -> Result<Vec<Block>> {
        let length = self.file.metadata().map_err(|err| Error::io("inspect", &self.path, err))?.len();
        let mut bytes = vec![0u8; length.saturating_sub(FOOTER_BYTES).saturating_sub(self.index_at) as usize];
        self.file.read_exact_at(&mut bytes, self.index_at).map_err(|err| Error::io("read", &self.path, err))?;
        if hash_of::<16>(&bytes) != self.index_hash {
            return Err(damaged(&self.path, "its block index does not match its hash"));
        }
        // Each index item takes at least its header: a damaged record count cannot make us allocate.
        let mut blocks: Vec<Block> = Vec::with_capacity(bytes.len() / INDEX_ITEM_HEADER);
        let mut at = 0usize;
        while at < bytes.len() {
            let torn = || damaged(&self.path, "a torn block index");
            let header = bytes.get(at..at + INDEX_ITEM_HEADER).ok_or_else(torn)?;
            let offset = u64::from_be_bytes(header[..8].try_into().unwrap_or_default());
            let hash: [u8; 8] = header[8..16].try_into().unwrap_or_default();
            let key_length = u16::from_be_bytes([header[16], header[17]]) as usize;
            let key_at = at + INDEX_ITEM_HEADER;
            let key = bytes.get(key_at..key_at + key_length).ok_or_else(torn)?;
            let in_order = blocks.last().is_none_or(|last| last.first_key.as_slice() < key && last.offset < offset);
            if offset >= self.index_at || !in_order || (blocks.is_empty() && offset != 0) {
                return Err(damaged(&self.path, "a block index out of order"));
            }
            blocks.push(Block { offset, hash, first_key: key.to_vec() });
            at = key_at + key_length;
        }
        if blocks.len() as u64 != self.records.div_ceil(BLOCK_RECORDS) {
            return Err(damaged(&self.path, "a block index that does not match its record count"));
        }
        Ok(blocks)
    }

    /// The bytes of block `number` (its records), checked against its hash.
    fn block(&self, number: usize) -> Result<Vec<u8>> {
        let blocks = self.blocks()?;
        let start = blocks[number].offset;
        let end = blocks.get(number + 1).map_or(self.index_at, |next| next.offset);
        let mut bytes = vec![0u8; end.saturating_sub(start) as usize];
        self.file.read_exact_at(&mut bytes, start).map_err(|err| Error::io("read", &self.path, err))?;
        if hash_of::<8>(&bytes) != blocks[number].hash {
            return Err(damaged(&self.path, &format!("block {number} does not match its hash")));
        }
        Ok(bytes)
    }

    /// [`Table::block`] for a point lookup: from the blocks read last when there, else read,
    /// checked and kept.
    fn recent_block(&self, number: usize) -> Result<std::sync::Arc<Vec<u8>>> {
        self.recent.get_or_make(number as u64, || Ok(std::sync::Arc::new(self.block(number)?)))
    }

    /// Read and check the block index now (it is otherwise read on first use).
    pub fn check_index(&self) -> Result<()> {
        self.blocks().map(|_| ())
    }

    /// The block that would hold `key`: the last whose first key is at most `key`.
    fn block_for(&self, key: &[u8]) -> Result<Option<usize>> {
        let blocks = self.blocks()?;
        Ok(blocks.partition_point(|block| block.first_key.as_slice() <= key).checked_sub(1))
    }

    /// The value of `key`, if the table holds it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(number) = self.block_for(key)? else { return Ok(None) };
        let block = self.recent_block(number)?;
        let mut records = Records { bytes: &block, at: 0, path: &self.path };
        while let Some((found, value)) = records.next_record()? {
            match found.cmp(key) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal => return Ok(Some(value.to_vec())),
                std::cmp::Ordering::Greater => break,
            }
        }
        Ok(None)
    }

    /// The keys and values under `prefix`, in key order, a block at a time.
    pub fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> TableScan<'a> {
        self.scan(prefix, prefix, None)
    }

    /// The keys and values from `from` on, below `below` if given, in key order.
    pub fn scan_range<'a>(&'a self, from: &[u8], below: Option<&[u8]>) -> TableScan<'a> {
        self.scan(from, &[], below)
    }

    fn scan<'a>(&'a self, from: &[u8], prefix: &[u8], below: Option<&[u8]>) -> TableScan<'a> {
        let start = match self.block_for(from) {
            Ok(block) => Ok(block.unwrap_or(0)),
            Err(err) => Err(err),
        };
        TableScan {
            table: self,
            from: from.to_vec(),
            prefix: prefix.to_vec(),
            below: below.map(<[u8]>::to_vec),
            next_block: start,
            pending: Vec::new().into_iter(),
        }
    }

    /// Write a new table at `path` from `entries` (strictly increasing keys), crash-safely: under
    /// its name only once complete and fsync'd. Returns how many records it holds.
    pub fn write(path: &Path, entries: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>) -> Result<u64> {
        crate::fsio::publish(path, true, |file| {
            let mut blocks = BlockWriter::new(std::io::BufWriter::with_capacity(1 << 20, file), path);
            for entry in entries {
                let (key, value) = entry?;
                blocks.push(&key, &value)?;
            }
            blocks.finish()
        })
    }

    /// [`Table::write`] of `first` then what `second` makes, the two made at once: `second` on a
    /// thread of its own, its entries kept in memory until `first` is written. The file is the
    /// one [`Table::write`] makes of both in a row, byte for byte (its blocks are laid out as the
    /// entries come, whichever thread made them); every key of `second` must come after every
    /// key of `first`. For a compaction, whose merging of the store's tiers is most of its time.
    pub fn write_in_two<Second>(
        path: &Path,
        first: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>,
        second: impl FnOnce() -> Second + Send,
    ) -> Result<u64>
    where
        Second: Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>,
    {
        std::thread::scope(|scope| {
            let later = scope.spawn(move || second().collect::<Result<Vec<(Vec<u8>, Vec<u8>)>>>());
            crate::fsio::publish(path, true, |file| {
                let mut blocks = BlockWriter::new(std::io::BufWriter::with_capacity(1 << 20, file), path);
                for entry in first {
                    let (key, value) = entry?;
                    blocks.push(&key, &value)?;
                }
                let later = later.join().map_err(|_| {
                    Error::new(
                        crate::ErrorKind::Store,
                        "derived store: the thread writing a table's second half stopped",
                    )
                })??;
                for (key, value) in later {
                    blocks.push(&key, &value)?;
                }
                blocks.finish()
            })
        })
    }

    /// The first key of the block in the middle of the table: where a compaction splits its
    /// work in two.
    pub fn middle_key(&self) -> Result<Option<Vec<u8>>> {
        let blocks = self.blocks()?;
        Ok(blocks.get(blocks.len() / 2).map(|block| block.first_key.clone()))
    }
}

/// A table's records laid out in blocks of [`BLOCK_RECORDS`] as they come, written to `out`, and
/// its block index and footer at the end.
struct BlockWriter<'p, W: std::io::Write> {
    out: W,
    path: &'p Path,
    index: Vec<u8>,
    offset: u64,
    records: u64,
    last: Vec<u8>,
    /// The block being written: its bytes (for its hash) and where its index item's hash goes.
    block: Vec<u8>,
    hash_at: usize,
}

impl<'p, W: std::io::Write> BlockWriter<'p, W> {
    fn new(out: W, path: &'p Path) -> Self {
        BlockWriter {
            out,
            path,
            index: Vec::new(),
            offset: 0,
            records: 0,
            last: Vec::new(),
            block: Vec::new(),
            hash_at: 0,
        }
    }

    fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if key.len() > usize::from(u16::MAX) || value.len() > MAX_VALUE_BYTES as usize {
            return Err(Error::new(crate::ErrorKind::Store, "derived store: a state key or value is too large"));
        }
        if self.records > 0 && self.last.as_slice() >= key {
            return Err(Error::new(crate::ErrorKind::Store, "derived store: state keys out of order"));
        }
        if self.records.is_multiple_of(BLOCK_RECORDS) {
            if self.records > 0 {
                self.end_block()?;
            }
            self.index.extend_from_slice(&self.offset.to_be_bytes());
            self.hash_at = self.index.len();
            self.index.extend_from_slice(&[0; 8]);
            self.index.extend_from_slice(&(key.len() as u16).to_be_bytes());
            self.index.extend_from_slice(key);
        }
        self.block.extend_from_slice(&(key.len() as u16).to_be_bytes());
        self.block.extend_from_slice(&(value.len() as u32).to_be_bytes());
        self.block.extend_from_slice(key);
        self.block.extend_from_slice(value);
        self.offset += (RECORD_HEADER + key.len() + value.len()) as u64;
        self.records += 1;
        self.last.clear();
        self.last.extend_from_slice(key);
        Ok(())
    }

    /// Write the block being laid out, its hash in its index item.
    fn end_block(&mut self) -> Result<()> {
        self.index[self.hash_at..self.hash_at + 8].copy_from_slice(&hash_of::<8>(&self.block));
        self.out.write_all(&self.block).map_err(|err| Error::io("write", self.path, err))?;
        self.block.clear();
        Ok(())
    }

    /// Write the last block, the block index and the footer. Returns how many records it holds.
    fn finish(mut self) -> Result<u64> {
        if self.records > 0 {
            self.end_block()?;
        }
        let io = |err| Error::io("write", self.path, err);
        self.out.write_all(&self.index).map_err(io)?;
        self.out.write_all(&self.offset.to_be_bytes()).map_err(io)?;
        self.out.write_all(&self.records.to_be_bytes()).map_err(io)?;
        self.out.write_all(&hash_of::<16>(&self.index)).map_err(io)?;
        self.out.write_all(MAGIC).map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.records)
    }
}

/// Records of a block, parsed with bounds checks.
struct Records<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl<'a> Records<'a> {
    fn next_record(&mut self) -> Result<Option<(&'a [u8], &'a [u8])>> {
        if self.at == self.bytes.len() {
            return Ok(None);
        }
        let torn = || damaged(self.path, "a torn record");
        let header = self.bytes.get(self.at..self.at + RECORD_HEADER).ok_or_else(torn)?;
        let key_length = u16::from_be_bytes([header[0], header[1]]) as usize;
        let value_length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
        if value_length > MAX_VALUE_BYTES {
            return Err(torn());
        }
        let key_at = self.at + RECORD_HEADER;
        let value_at = key_at + key_length;
        let end = value_at + value_length as usize;
        let key = self.bytes.get(key_at..value_at).ok_or_else(torn)?;
        let value = self.bytes.get(value_at..end).ok_or_else(torn)?;
        self.at = end;
        Ok(Some((key, value)))
    }
}

/// The keys and values of a table from a key on, under a prefix and below a key, in key order.
pub(super) struct TableScan<'a> {
    table: &'a Table,
    from: Vec<u8>,
    prefix: Vec<u8>,
    below: Option<Vec<u8>>,
    next_block: Result<usize>,
    pending: std::vec::IntoIter<(Vec<u8>, Vec<u8>)>,
}

impl Iterator for TableScan<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.next() {
                return Some(Ok(item));
            }
            let number = match &mut self.next_block {
                Ok(usize::MAX) => return None,
                Ok(number) => *number,
                Err(_) => {
                    let err = std::mem::replace(&mut self.next_block, Ok(usize::MAX));
                    return err.err().map(Err);
                }
            };
            let blocks = match self.table.blocks() {
                Ok(blocks) => blocks,
                Err(err) => {
                    self.next_block = Ok(usize::MAX);
                    return Some(Err(err));
                }
            };
            if number >= blocks.len() {
                return None;
            }
            // A block whose first key is past every key under the prefix ends the scan.
            let first_key = blocks[number].first_key.as_slice();
            let past_prefix = first_key > self.prefix.as_slice() && !first_key.starts_with(&self.prefix);
            if past_prefix || self.below.as_deref().is_some_and(|below| first_key >= below) {
                return None;
            }
            let block = match self.table.block(number) {
                Ok(block) => block,
                Err(err) => {
                    self.next_block = Ok(usize::MAX);
                    return Some(Err(err));
                }
            };
            let mut records = Records { bytes: &block, at: 0, path: &self.table.path };
            let mut found = Vec::new();
            let mut past = false;
            loop {
                match records.next_record() {
                    Ok(Some((key, value))) => {
                        if key < self.from.as_slice() {
                            continue;
                        }
                        if self.below.as_deref().is_some_and(|below| key >= below) {
                            past = true;
                            break;
                        }
                        if key.starts_with(&self.prefix) {
                            found.push((key.to_vec(), value.to_vec()));
                        } else if key > self.prefix.as_slice() {
                            past = true;
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        self.next_block = Ok(usize::MAX);
                        return Some(Err(err));
                    }
                }
            }
            self.next_block = Ok(if past { usize::MAX } else { number + 1 });
            self.pending = found.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn table_of(dir: &Path, entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Table {
        let path = dir.join("state-1.table");
        let written = Table::write(&path, entries.iter().map(|(k, v)| Ok((k.clone(), v.clone())))).unwrap();
        assert_eq!(written, entries.len() as u64);
        Table::open(path).unwrap()
    }

    #[test]
    fn lookups_and_prefix_scans_agree_with_a_map() {
        let dir = tempfile::tempdir().unwrap();
        let mut entries = BTreeMap::new();
        for n in 0..1000u32 {
            let family = [b'a', b'b', b'c'][n as usize % 3];
            let key = [vec![family], format!("{:05}", n * 7).into_bytes()].concat();
            entries.insert(key, vec![n as u8; (n % 50) as usize]);
        }
        let table = table_of(dir.path(), &entries);
        assert_eq!(table.len(), 1000);
        for (key, value) in &entries {
            assert_eq!(table.get(key).unwrap().as_ref(), Some(value));
        }
        for missing in [&b""[..], b"a", b"a00001", b"b99999", b"d", b"\xff"] {
            assert_eq!(table.get(missing).unwrap(), None, "{missing:?}");
        }
        for prefix in [&b""[..], b"a", b"b", b"c", b"d", b"a0", b"b001", b"c0070", b"\x00"] {
            let scanned: Vec<_> = table.scan_prefix(prefix).collect::<Result<_>>().unwrap();
            let expected: Vec<_> =
                entries.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(scanned, expected, "prefix {prefix:?}");
        }
    }

    #[test]
    fn range_scans_agree_with_a_map() {
        let dir = tempfile::tempdir().unwrap();
        let entries: BTreeMap<Vec<u8>, Vec<u8>> =
            (0..1000u32).map(|n| (format!("k{:05}", n * 3).into_bytes(), vec![n as u8; 7])).collect();
        let table = table_of(dir.path(), &entries);
        let bounds: [&[u8]; 8] = [b"", b"a", b"k", b"k00003", b"k00004", b"k01500", b"k02997", b"z"];
        for from in bounds {
            for below in bounds.iter().map(|below| Some(*below)).chain([None]) {
                let scanned: Vec<_> = table.scan_range(from, below).collect::<Result<_>>().unwrap();
                let expected: Vec<_> = entries
                    .iter()
                    .filter(|(k, _)| k.as_slice() >= from && below.is_none_or(|below| k.as_slice() < below))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(scanned, expected, "{from:?}..{below:?}");
            }
        }
    }

    /// A table written in two halves at once is the table written in one go, byte for byte,
    /// wherever the halves meet (within a block or at its edge, either half empty); keys out of
    /// order across the halves and an error in the second half are refused.
    #[test]
    fn a_table_written_in_two_is_the_table_written_in_one() {
        let dir = tempfile::tempdir().unwrap();
        let entries: Vec<(Vec<u8>, Vec<u8>)> =
            (0..300u32).map(|n| (format!("k{n:04}").into_bytes(), vec![n as u8; (n % 9) as usize])).collect();
        let whole = dir.path().join("whole.table");
        Table::write(&whole, entries.iter().cloned().map(Ok)).unwrap();
        let whole = std::fs::read(&whole).unwrap();
        let halves = dir.path().join("halves.table");
        for split in [0, 1, 31, 32, 33, 150, 299, 300] {
            let (first, second) = entries.split_at(split);
            let written =
                Table::write_in_two(&halves, first.iter().cloned().map(Ok), || second.iter().cloned().map(Ok)).unwrap();
            assert_eq!(written, 300);
            assert_eq!(std::fs::read(&halves).unwrap(), whole, "split at {split}");
        }
        let (first, second) = entries.split_at(150);
        let swapped = Table::write_in_two(&halves, second.iter().cloned().map(Ok), || first.iter().cloned().map(Ok));
        assert!(swapped.unwrap_err().message().contains("out of order"));
        let failing = Table::write_in_two(&halves, first.iter().cloned().map(Ok), || {
            second.iter().cloned().map(Ok).chain([Err(Error::new(crate::ErrorKind::Store, "the second half failed"))])
        });
        assert!(failing.unwrap_err().message().contains("the second half failed"));
    }

    #[test]
    fn an_empty_table_holds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let table = table_of(dir.path(), &BTreeMap::new());
        assert_eq!(table.get(b"x").unwrap(), None);
        assert_eq!(table.scan_prefix(b"").count(), 0);
    }

    #[test]
    fn a_damaged_table_is_an_error_never_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let entries: BTreeMap<Vec<u8>, Vec<u8>> =
            (0..200u32).map(|n| (format!("k{n:04}").into_bytes(), vec![1; 20])).collect();
        let path = table_of(dir.path(), &entries).path;
        let good = std::fs::read(&path).unwrap();
        for cut in [0, 10, good.len() / 2, good.len() - 30, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            if let Ok(table) = Table::open(path.clone()) {
                let _ = table.get(b"k0100");
                let _ = table.scan_prefix(b"k").collect::<Vec<_>>();
            }
        }
        // A flipped byte anywhere is found: every answer is an error or the true value.
        for at in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            std::fs::write(&path, &bad).unwrap();
            let Ok(table) = Table::open(path.clone()) else { continue };
            for (key, value) in &entries {
                if let Ok(found) = table.get(key) {
                    assert_eq!(found.as_ref(), Some(value), "byte {at} flipped, key {key:?}");
                }
            }
            let scanned: Vec<_> = table.scan_prefix(b"k").collect();
            if scanned.iter().all(|item| item.is_ok()) {
                let scanned: Vec<_> = scanned.into_iter().map(|item| item.unwrap()).collect();
                let expected: Vec<_> = entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                assert_eq!(scanned, expected, "byte {at} flipped");
            }
        }
    }

    #[test]
    fn keys_out_of_order_are_refused_and_nothing_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state-1.table");
        let entries = vec![Ok((b"b".to_vec(), vec![])), Ok((b"a".to_vec(), vec![]))];
        assert!(Table::write(&path, entries.into_iter()).is_err());
        assert!(!path.exists());
    }
}
