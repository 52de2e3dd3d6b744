//! Micro-benchmarks of the ledger's hot paths: canonical encoding, stored-line parsing, entry
//! hashing, Ed25519 signing and verification, and the Merkle tree (append, proofs, verifiers).
//!
//! `cargo bench -p lianlog-ledger --bench core` (about a minute); add a filter such as `merkle`
//! to run one group, or `-- --quick` for rough figures.
//!
//! Inputs are realistic: the record bodies come from `lianlog_workload::Workload` (all kinds,
//! Chinese text), signed by four authors, chained into stored lines exactly as the ledger writes
//! them.
//! The record benchmarks process a batch of [`BATCH`] consecutive records per iteration, so
//! criterion's elements/s is records/s and the time per record is the reported time / 64.

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime};
use lianlog_ledger::keys::split_signature_value;
use lianlog_ledger::merkle::{self, CompactRange, Hash, NodeStore};
use lianlog_ledger::record::{Entry, Record, body_hash};
use lianlog_ledger::{EntryHash, KeyName, ParsedLine, SecretKey, StoredBody, StoredLine, Timestamp, canonical};
use lianlog_workload::Workload;
use serde_json::Value;

/// Records per iteration of the record benchmarks (and the size of the batch verification).
const BATCH: usize = 64;

/// One generated record, in every form the benchmarks need.
struct Sample {
    body: Value,
    body_bytes: Vec<u8>,
    record: Record,
    note_text: Vec<u8>,
    entry: Entry,
    entry_bytes: Vec<u8>,
    /// The stored line without its trailing newline, as `ParsedLine::parse` takes it.
    line: Vec<u8>,
}

fn authors() -> Vec<SecretKey> {
    ["officer.wang", "officer.li", "officer.zhang", "auditor.chen"]
        .iter()
        .enumerate()
        .map(|(i, name)| SecretKey::from_seed(KeyName::parse(name).expect("valid key name"), &[i as u8 + 1; 32]))
        .collect()
}

fn samples(keys: &[SecretKey]) -> Vec<Sample> {
    let mut prev = EntryHash::ZERO;
    let start = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z
    Workload::new(7)
        .take(BATCH)
        .enumerate()
        .map(|(i, (kind, body))| {
            let key = &keys[i % keys.len()];
            let salt = [i as u8; 16];
            let body_bytes = canonical::encode(&body, "body").expect("workload bodies are canonical");
            let time = Timestamp::from_millis(start + 60_000 * i as i64);
            let record = Record {
                v: 1,
                ledger: "bench.example/jw-ledger".to_string(),
                kind: kind.to_string(),
                author: key.public().identity(),
                created: time,
                body_hash: body_hash(&salt, &body_bytes),
            };
            let sig = record.sign(key);
            let note_text = record.note_text();
            let entry = Entry { seq: i as u64, prev, time, record: record.clone(), sig };
            let entry_bytes = entry.canonical_bytes();
            prev = EntryHash::of_entry_bytes(&entry_bytes);
            let mut line = StoredLine { entry: entry.clone(), body: StoredBody::Full { body: body.clone(), salt } }
                .to_line()
                .expect("canonical line");
            line.pop();
            Sample { body, body_bytes, record, note_text, entry, entry_bytes, line }
        })
        .collect()
}

fn total(samples: &[Sample], bytes: impl Fn(&Sample) -> usize) -> Throughput {
    Throughput::ElementsAndBytes {
        elements: samples.len() as u64,
        bytes: samples.iter().map(bytes).sum::<usize>() as u64,
    }
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
}

fn records(c: &mut Criterion) {
    let keys = authors();
    let samples = samples(&keys);
    let mut group = c.benchmark_group("record");
    configure(&mut group);

    group.throughput(total(&samples, |s| s.body_bytes.len()));
    group.bench_function("canonical_encode_body", |b| {
        let mut out = Vec::with_capacity(4096);
        b.iter(|| {
            for s in &samples {
                out.clear();
                canonical::encode_into(black_box(&s.body), &mut out, "body").expect("canonical");
                black_box(&out);
            }
        })
    });

    group.throughput(total(&samples, |s| s.line.len()));
    group.bench_function("parse_stored_line", |b| {
        b.iter(|| {
            for s in &samples {
                black_box(ParsedLine::parse(black_box(&s.line)).expect("valid line"));
            }
        })
    });

    group.throughput(total(&samples, |s| s.entry_bytes.len()));
    group.bench_function("entry_hash", |b| {
        b.iter(|| {
            for s in &samples {
                black_box(black_box(&s.entry).hash());
            }
        })
    });
    group.bench_function("sha256_entry_bytes", |b| {
        b.iter(|| {
            for s in &samples {
                black_box(EntryHash::of_entry_bytes(black_box(&s.entry_bytes)));
            }
        })
    });
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let keys = authors();
    let samples = samples(&keys);
    let public: Vec<_> = (0..samples.len()).map(|i| keys[i % keys.len()].public().clone()).collect();
    let signatures: Vec<_> =
        samples.iter().map(|s| split_signature_value(&s.entry.sig).expect("well-formed signature").1).collect();
    let messages: Vec<&[u8]> = samples.iter().map(|s| s.note_text.as_slice()).collect();
    let verifying: Vec<_> = public.iter().map(|p| *p.verifying_key()).collect();

    let mut group = c.benchmark_group("ed25519");
    configure(&mut group);
    group.sample_size(30);
    group.throughput(total(&samples, |s| s.note_text.len()));
    group.bench_function("sign_record", |b| {
        b.iter(|| {
            for (i, s) in samples.iter().enumerate() {
                black_box(black_box(&s.record).sign(&keys[i % keys.len()]));
            }
        })
    });
    group.bench_function("verify_strict", |b| {
        b.iter(|| {
            for ((message, signature), key) in messages.iter().zip(&signatures).zip(&verifying) {
                key.verify_strict(black_box(message), black_box(signature)).expect("valid signature");
            }
        })
    });
    group.bench_function("verify_signature_value", |b| {
        b.iter(|| {
            for (s, key) in samples.iter().zip(&public) {
                key.verify_signature_value(black_box(&s.note_text), black_box(&s.entry.sig)).expect("valid signature");
            }
        })
    });
    group.bench_function("verify_batch_64", |b| {
        b.iter(|| {
            ed25519_dalek::verify_batch(black_box(&messages), black_box(&signatures), black_box(&verifying))
                .expect("valid batch")
        })
    });
    group.finish();
}

/// The complete-subtree hashes of a tree, level by level, in memory.
struct MemoryStore {
    levels: Vec<Vec<Hash>>,
}

#[derive(Debug)]
struct Missing;

impl NodeStore for MemoryStore {
    type Error = Missing;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Missing> {
        self.levels.get(usize::from(level)).and_then(|hashes| hashes.get(index as usize)).copied().ok_or(Missing)
    }
}

/// Leaves pushed into the stored tree; the proofs are asked at [`PROOF_SIZE`], a size that is not
/// a power of two, so that they include incomplete subtrees as a live ledger's do.
const STORED_LEAVES: u64 = 1 << 20;
const PROOF_SIZE: u64 = 1_000_000;

fn leaf(i: u64) -> Hash {
    merkle::leaf_hash(&i.to_le_bytes())
}

/// Built on first use, so that filtering the Merkle benchmarks out skips the 2^20 pushes.
static TREE: LazyLock<MemoryStore> = LazyLock::new(|| {
    let mut levels: Vec<Vec<Hash>> = vec![Vec::new(); 21];
    let mut range = CompactRange::new();
    for i in 0..STORED_LEAVES {
        for ((level, index), hash) in range.push(leaf(i)).expect("tree not full") {
            let hashes = &mut levels[usize::from(level)];
            debug_assert_eq!(hashes.len() as u64, index);
            hashes.push(hash);
        }
    }
    MemoryStore { levels }
});

/// Deterministic, spread-out values in `[low, high)` (a multiplicative hash of the counter).
fn spread(count: usize, low: u64, high: u64) -> Vec<u64> {
    (0..count as u64).map(|i| low + i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (high - low)).collect()
}

fn merkle_tree(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));

    group.bench_function("compact_range_push", |b| {
        let mut range = CompactRange::new();
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(range.push(black_box(leaf_const(i))).expect("tree not full"));
        })
    });
    group.bench_function("compact_range_append", |b| {
        let mut range = CompactRange::new();
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            range.append(black_box(leaf_const(i))).expect("tree not full");
        })
    });

    let store = &*TREE;
    let root = merkle::root(PROOF_SIZE, store).expect("stored");
    let indices = spread(1024, 0, PROOF_SIZE);
    let olds = spread(1024, 1, PROOF_SIZE);

    group.bench_function("root_1m", |b| b.iter(|| merkle::root(black_box(PROOF_SIZE), store).expect("stored")));
    group.bench_function("inclusion_proof_1m", |b| {
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % indices.len();
            merkle::inclusion_proof(black_box(indices[n]), PROOF_SIZE, store).expect("stored")
        })
    });
    group.bench_function("consistency_proof_1m", |b| {
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % olds.len();
            merkle::consistency_proof(black_box(olds[n]), PROOF_SIZE, store).expect("stored")
        })
    });

    let inclusion: Vec<_> =
        indices.iter().map(|&i| (i, leaf(i), merkle::inclusion_proof(i, PROOF_SIZE, store).expect("stored"))).collect();
    group.bench_function("verify_inclusion_1m", |b| {
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % inclusion.len();
            let (index, leaf, proof) = &inclusion[n];
            assert!(merkle::verify_inclusion(black_box(*index), PROOF_SIZE, leaf, proof, &root));
        })
    });
    let consistency: Vec<_> = olds
        .iter()
        .map(|&old| {
            let old_root = merkle::root(old, store).expect("stored");
            (old, old_root, merkle::consistency_proof(old, PROOF_SIZE, store).expect("stored"))
        })
        .collect();
    group.bench_function("verify_consistency_1m", |b| {
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % consistency.len();
            let (old, old_root, proof) = &consistency[n];
            assert!(merkle::verify_consistency(black_box(*old), PROOF_SIZE, old_root, &root, proof));
        })
    });
    group.finish();
}

/// A leaf hash without hashing, so that the append benchmarks time the tree alone.
fn leaf_const(i: u64) -> Hash {
    let mut hash = [0x5A; 32];
    hash[..8].copy_from_slice(&i.to_le_bytes());
    hash
}

criterion_group!(benches, records, signatures, merkle_tree);
criterion_main!(benches);
