//! Queries at scale (issue 18): `--limit`/`--offset` on `query`, `log`, `dossier`, `cases` and
//! `overdue`, 50 by default with a last line "N more; use --limit/--offset" (with `--json`, the
//! page's `more`); `log --last N`; several `--text` words, all of which must match.

use serde_json::{Value, json};

use crate::common::{ENTRIES, Fixture, interview_body, output_text};

/// Interviews imported on top of the fixture, every other one about a tender (招标).
const IMPORTED: usize = 60;

fn fixture_with_many_records() -> Fixture {
    let fixture = Fixture::build();
    let lines: String = (0..IMPORTED)
        .map(|i| {
            let reason = if i % 2 == 0 {
                format!("工程招标问题 第{i}次")
            } else {
                format!("工程监管问题 第{i}次")
            };
            format!("{}\n", json!({"kind": "interview", "body": interview_body("张三", &reason)}))
        })
        .collect();
    fixture.cmd().args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines).assert().success();
    fixture
}

fn run(fixture: &Fixture, args: &[&str]) -> (String, String) {
    let output = fixture.cmd().args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {:?}", output_text(&output));
    output_text(&output)
}

fn json(fixture: &Fixture, args: &[&str]) -> Value {
    let (stdout, _) = run(fixture, &[&["--json"][..], args].concat());
    serde_json::from_str(&stdout).unwrap()
}

fn seqs(page: &Value) -> Vec<u64> {
    page["items"].as_array().expect("items").iter().map(|item| item["seq"].as_u64().expect("seq")).collect()
}

#[test]
fn long_answers_come_in_pages_that_say_how_many_follow() {
    let fixture = fixture_with_many_records();
    let all = json(&fixture, &["query", "--text", "工程", "--limit", "0"]);
    let total = all["total"].as_u64().unwrap();
    assert!(total as usize >= IMPORTED, "{all}");
    assert_eq!(seqs(&all).len() as u64, total, "--limit 0 shows all");

    // By default: 50, and a last line that says how many more and how to see them.
    let (stdout, _) = run(&fixture, &["query", "--text", "工程"]);
    let last = stdout.lines().last().unwrap();
    assert_eq!(last, format!("{} more; use --limit/--offset (另有 {} 条未显示)", total - 50, total - 50), "{stdout}");
    let page = json(&fixture, &["query", "--text", "工程"]);
    assert_eq!(seqs(&page), seqs(&all)[..50]);
    assert_eq!(
        (page["offset"].as_u64(), page["limit"].as_u64(), page["more"].as_u64()),
        (Some(0), Some(50), Some(total - 50))
    );

    // The next page, and one past the end.
    let next = json(&fixture, &["query", "--text", "工程", "--offset", "50", "--limit", "5"]);
    assert_eq!(seqs(&next), seqs(&all)[50..55]);
    assert_eq!(next["more"].as_u64(), Some(total - 55));
    let past = json(&fixture, &["query", "--text", "工程", "--offset", "1000"]);
    assert!(seqs(&past).is_empty() && past["more"] == 0, "{past}");
    let (stdout, _) = run(&fixture, &["query", "--text", "工程", "--limit", "0"]);
    assert!(!stdout.contains("more; use"), "nothing more when everything is shown: {stdout}");

    // A dossier, cases and overdue page the same way.
    let dossier = json(&fixture, &["dossier", "P-1001", "--limit", "0"]);
    let page = json(&fixture, &["dossier", "P-1001", "--offset", "3", "--limit", "4"]);
    assert_eq!(seqs(&page), seqs(&dossier)[3..7]);
    assert_eq!(page["more"].as_u64(), Some(dossier["total"].as_u64().unwrap() - 7));
    let more = dossier["total"].as_u64().unwrap() - 50;
    let (stdout, _) = run(&fixture, &["dossier", "P-1001"]);
    assert!(stdout.ends_with(&format!("{more} more; use --limit/--offset (另有 {more} 条未显示)\n")), "{stdout}");
    let cases = json(&fixture, &["cases", "--limit", "1"]);
    assert_eq!((cases["total"].as_u64(), cases["more"].as_u64(), seqs(&cases).len()), (Some(2), Some(1), 1), "{cases}");
    let (stdout, _) = run(&fixture, &["cases", "--limit", "1"]);
    assert!(stdout.ends_with("1 more; use --limit/--offset (另有 1 条未显示)\n"), "{stdout}");
    // The summary counts the whole answer, not the page as if it were all of it.
    assert!(stdout.contains("cases 1–1 of 2 shown"), "{stdout}");
    let (stdout, _) = run(&fixture, &["cases"]);
    assert!(stdout.contains("2 cases, "), "{stdout}");
    let overdue = json(&fixture, &["overdue", "--limit", "1"]);
    assert_eq!((overdue["total"].as_u64(), overdue["more"].as_u64()), (Some(0), Some(0)), "{overdue}");
}

#[test]
fn several_text_words_must_all_match() {
    let fixture = fixture_with_many_records();
    let both = json(&fixture, &["query", "--text", "工程", "招标", "--limit", "0"]);
    assert_eq!(both["total"].as_u64(), Some(IMPORTED as u64 / 2), "{both}");
    let repeated = json(&fixture, &["query", "--text", "招标", "--text", "工程", "--limit", "0"]);
    assert_eq!(seqs(&repeated), seqs(&both));
    assert!(seqs(&both).iter().all(|seq| *seq >= ENTRIES as u64 && seq % 2 == 0), "the imported tenders: {both}");
    let none = json(&fixture, &["query", "--text", "招标", "申诉"]);
    assert_eq!(none["total"].as_u64(), Some(0));
}

#[test]
fn log_pages_and_shows_the_last_entries() {
    let fixture = fixture_with_many_records();
    let size = (ENTRIES + IMPORTED) as u64;
    let last = json(&fixture, &["log", "--last", "3"]);
    assert_eq!(seqs(&last), vec![size - 3, size - 2, size - 1]);
    assert_eq!((last["total"].as_u64(), last["more"].as_u64()), (Some(size), Some(0)));

    let first = json(&fixture, &["log"]);
    assert_eq!(seqs(&first), (0..50).collect::<Vec<_>>());
    assert_eq!(first["more"].as_u64(), Some(size - 50));
    let (stdout, _) = run(&fixture, &["log"]);
    assert!(
        stdout.ends_with(&format!("{} more; use --limit/--offset (另有 {} 条未显示)\n", size - 50, size - 50)),
        "{stdout}"
    );

    let page = json(&fixture, &["log", "--from", "10", "--offset", "5", "--limit", "10"]);
    assert_eq!(seqs(&page), (15..25).collect::<Vec<_>>());
    assert_eq!(page["more"].as_u64(), Some(size - 25));

    for args in [&["log", "--last", "3", "--from", "2"][..], &["log", "--last", "0"]] {
        let output = fixture.cmd().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {:?}", output_text(&output));
    }
}
