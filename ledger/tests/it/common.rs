//! The fixture the ledger's integration tests share: deterministic keys, a holder, and a valid
//! interview record (约谈) numbered `n`.

use lianlog_ledger::{Draft, Holder, KeyName, SecretKey};
use serde_json::json;

/// A key named `name` from a fixed seed, so runs are reproducible.
pub fn key(name: &str, seed: u8) -> SecretKey {
    SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
}

/// The holder every fixture key is granted to.
pub fn holder() -> Holder {
    Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None }
}

/// A valid interview about person `P-<n>`.
pub fn interview(n: usize) -> Draft {
    Draft::new(
        "interview",
        json!({
            "interview_type": "reminder",
            "subjects": [{"id": format!("P-{n:05}"), "name": "张某", "unit": "市住建局"}],
            "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
            "held_on": "2025-03-10",
            "reason": format!("提醒谈话 {n}"),
        }),
    )
}

/// The sled directory of a store's current generation (`index/state-<g>/`, docs/ARCHITECTURE.md).
pub fn current_sled_dir(ledger_dir: &std::path::Path) -> std::path::PathBuf {
    let index = lianlog_ledger::store_dir(ledger_dir);
    let generation = std::fs::read_to_string(index.join("state")).map_or(0, |text| text.trim().parse::<u64>().unwrap());
    index.join(format!("state-{generation}"))
}

/// A store's sled opened with the segment size it was created with, retried for up to 10 s while
/// the store's previous handle (dropped, but still held by sled's background flusher) releases
/// its lock.
pub fn open_sled_when_released(path: &std::path::Path) -> sled::Db {
    // sled opens a directory only with the segment size it was created with, which its `conf`
    // names (text lines, then a checksum).
    let conf = std::fs::read(path.join("conf")).unwrap_or_default();
    let segment_size = String::from_utf8_lossy(&conf)
        .lines()
        .find_map(|line| line.strip_prefix("segment_size: ")?.trim().parse::<usize>().ok());
    let mut tries = 0;
    loop {
        let config = sled::Config::new().path(path);
        let config = match segment_size {
            Some(size) => config.segment_size(size),
            None => config,
        };
        match config.open() {
            Ok(db) => return db,
            Err(_) if tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(err) => panic!("could not open {}: {err}", path.display()),
        }
    }
}
