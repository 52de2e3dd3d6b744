//! The fuzz corpus, replayed on stable: every file in `tests/corpus/<target>/` goes through the
//! same checks as the fuzz target of that name (`fuzz/src/lib.rs`, compiled here as a module), so
//! an input that once crashed lianlog, or that a fuzzer found interesting, stays tested in CI
//! without nightly or cargo-fuzz.

#[path = "../../../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|item| item.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_passes_its_target() {
    let mut total = 0;
    for (name, check) in harness::TARGETS {
        let dir = corpus_root().join(name);
        let files = files(&dir);
        assert!(!files.is_empty(), "{} holds no corpus files", dir.display());
        for path in files {
            let data = std::fs::read(&path).expect("read a corpus file");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "fuzz target {name} fails on {}", path.display());
            total += 1;
        }
    }
    assert!(total >= harness::TARGETS.len());
}

#[test]
fn every_target_has_a_corpus_and_nothing_else_is_there() {
    let names: Vec<&str> = harness::TARGETS.iter().map(|(name, _)| *name).collect();
    let mut bytes = 0u64;
    for item in std::fs::read_dir(corpus_root()).expect("tests/corpus") {
        let item = item.expect("directory entry");
        let name = item.file_name().to_string_lossy().into_owned();
        if item.path().is_dir() {
            assert!(names.contains(&name.as_str()), "tests/corpus/{name} is not a fuzz target's corpus");
            for path in files(&item.path()) {
                bytes += std::fs::metadata(path).expect("metadata").len();
            }
        }
    }
    assert!(bytes < 2 << 20, "the corpus is {bytes} bytes; keep it under 2 MB (minimize with cargo fuzz cmin)");
}
