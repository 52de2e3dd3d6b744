//! The projections' key layout in the derived store (投影键布局): one place that builds every key
//! under prefix `P`, so that the projections, the queries and the replay check agree on it.
//!
//! Guarantees: every projection key starts with [`PREFIX`]; each family has its own tag byte
//! ([`family`] names them); an index is a few chunk keys ([`INDEX_CHUNK_SEQS`] seqs each), never a
//! key per record, and record facts share a key per [`FACTS_PER_KEY`] records, because sled's
//! open time, disk use and write cost follow its number of keys. A change here changes what a
//! store holds: bump `store::STORE_LAYOUT` so that older stores are rebuilt.

pub(crate) const PREFIX: u8 = b'P';

/// Seqs per chunk of an index (person, unit, kind → seqs). An index is a few keys holding
/// many seqs rather than a key per seq: sled's open time, disk use and write cost grow with
/// its number of keys (docs/PERFORMANCE.md), and an append rewrites at most this many times
/// 8 bytes per index it touches.
pub const INDEX_CHUNK_SEQS: u64 = 128;

fn key(parts: &[&[u8]]) -> Vec<u8> {
    // Sized once, with room for the 0 an index prefix ends with: a key started as `vec![PREFIX]`
    // was grown two or three times, on every key of every replayed record.
    let length = 1 + parts.iter().map(|part| part.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(length);
    out.push(PREFIX);
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}

pub fn report(id: &str) -> Vec<u8> {
    key(&[b"r", id.as_bytes()])
}
pub fn decision(id: &str) -> Vec<u8> {
    key(&[b"d", id.as_bytes()])
}
pub fn appeal(id: &str) -> Vec<u8> {
    key(&[b"a", id.as_bytes()])
}
pub fn rectification(id: &str) -> Vec<u8> {
    key(&[b"x", id.as_bytes()])
}
pub fn duty_report(person: &str, period: &str) -> Vec<u8> {
    key(&[b"t", person.as_bytes(), period.as_bytes()])
}
/// An integrity opinion (廉政意见) by its id (decisions group, issue 17: tag `D…`).
pub fn opinion(id: &str) -> Vec<u8> {
    key(&[b"Do", id.as_bytes()])
}
pub fn correction(target: u64) -> Vec<u8> {
    key(&[b"c", &target.to_be_bytes()])
}
// kinds group (issue 17): upper-case tags, so that no other group's new family takes them.
/// A supervision order (督办) by `order_id`.
pub fn supervision(id: &str) -> Vec<u8> {
    key(&[b"O", id.as_bytes()])
}
/// A letter inquiry (谈话函询) by `inquiry_id`.
pub fn inquiry(id: &str) -> Vec<u8> {
    key(&[b"Q", id.as_bytes()])
}
/// The assessment (考核评价) of a unit (`org_id`) for a year.
pub fn assessment(org_id: &str, year: &str) -> Vec<u8> {
    key(&[b"E", org_id.as_bytes(), year.as_bytes()])
}
/// Every assessment, in (unit, year) order.
pub(crate) fn assessment_prefix() -> Vec<u8> {
    key(&[b"E", b""])
}
/// A circular (通报) by `circular_id`.
pub fn circular(id: &str) -> Vec<u8> {
    key(&[b"G", id.as_bytes()])
}
/// The facts of records `FACTS_PER_KEY·n ..` (what each asserted into indexes and
/// statistics, for a correction to retract): items of seq (u64 BE), length (u32 BE) and
/// canonical JSON.
pub(crate) fn record_facts(seq: u64) -> Vec<u8> {
    key(&[b"s", &(seq / FACTS_PER_KEY).to_be_bytes()])
}

/// Records per key of [`record_facts`]: a key per record would be most of sled's keys.
pub(crate) const FACTS_PER_KEY: u64 = 32;
/// Index: person id → seqs. The chunks of one person's index are the keys under this prefix
/// ([`index_chunk`]).
pub(crate) fn person_prefix(person: &str) -> Vec<u8> {
    let mut k = key(&[b"ip", person.as_bytes()]);
    k.push(0);
    k
}
pub(crate) fn unit_prefix(unit: &str) -> Vec<u8> {
    let mut k = key(&[b"iu", unit.as_bytes()]);
    k.push(0);
    k
}
pub(crate) fn kind_prefix(kind: &str) -> Vec<u8> {
    let mut k = key(&[b"ik", kind.as_bytes()]);
    k.push(0);
    k
}
/// Chunk number `chunk` of the index under `prefix`: up to [`INDEX_CHUNK_SEQS`] seqs, u64 BE
/// each, in the order they were added.
pub(crate) fn index_chunk(prefix: &[u8], chunk: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&chunk.to_be_bytes());
    k
}
/// The chunk keys and values of the index under `prefix` whose slots (every seq ever added, in
/// order; `None` where a correction removed it) are `slots`: chunk `n` holds the live seqs of
/// slots `INDEX_CHUNK_SEQS·n ..`, and a chunk with none is no key. The one rule by which the
/// store and an in-memory replay lay out an index they keep as postings.
pub(crate) fn index_chunks<'a>(
    prefix: &'a [u8],
    slots: &'a [Option<u64>],
) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + 'a {
    slots.chunks(INDEX_CHUNK_SEQS as usize).enumerate().filter_map(move |(chunk_number, chunk)| {
        // Sized once and copied 8 bytes at a time: collecting a byte iterator grew the vector
        // byte by byte, a tenth of replay's main thread.
        let mut value = Vec::with_capacity(8 * chunk.len());
        for seq in chunk.iter().flatten() {
            value.extend_from_slice(&seq.to_be_bytes());
        }
        (!value.is_empty()).then(|| (index_chunk(prefix, chunk_number as u64), value))
    })
}

/// How many seqs were ever added to the index under `prefix` (u64 BE; removals do not lower
/// it), which names the chunk the next one goes to. Outside the prefix, so that a scan of the
/// index sees only chunks.
pub(crate) fn index_slots(prefix: &[u8]) -> Vec<u8> {
    let rest = prefix.get(1..).unwrap_or_default();
    let mut k = Vec::with_capacity(2 + rest.len());
    k.extend_from_slice(&[PREFIX, b'h']);
    k.extend_from_slice(rest);
    k
}
pub(crate) fn stat_prefix() -> Vec<u8> {
    key(&[b"n"])
}
/// Count per (year, unit, kind).
pub fn stat(year: &str, unit: &str, kind: &str) -> Vec<u8> {
    key(&[b"n", year.as_bytes(), unit.as_bytes(), kind.as_bytes()])
}
pub(crate) fn month_prefix() -> Vec<u8> {
    key(&[b"m"])
}
/// Count per (month, kind).
pub(crate) fn month_stat(month: &str, kind: &str) -> Vec<u8> {
    key(&[b"m", month.as_bytes(), kind.as_bytes()])
}

/// A readable name for the projection a key belongs to (for replay mismatches).
pub fn family(key: &[u8]) -> &'static str {
    match key.get(1..3) {
        Some(b"ip") => "person index (integrity files, 廉政档案)",
        Some(b"iu") => "unit index",
        Some(b"ik") => "kind index",
        Some(b"hi") => "index sizes",
        _ => match key.get(1) {
            Some(b'r') => "report case state (线索)",
            Some(b'd') => "decision state (问责决定)",
            Some(b'a') => "appeal state (申诉)",
            Some(b'x') => "rectification state (整改)",
            Some(b't') => "duty reports by period (述责述廉)",
            Some(b'c') => "corrections (更正)",
            Some(b's') => "record facts",
            Some(b'n') => "statistics by year and unit",
            Some(b'm') => "statistics by month",
            Some(b'O') => "supervision order state (督办)",
            Some(b'Q') => "letter inquiry state (谈话函询)",
            Some(b'E') => "assessments by unit and year (考核评价)",
            Some(b'G') => "circulars (通报)",
            Some(b'D') => "integrity opinions (廉政意见)",
            _ => "unknown projection",
        },
    }
}
