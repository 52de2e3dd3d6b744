//! The web pages in a real headless Chromium, driven through WebDriver (`webdriver.rs`):
//! the in-browser checks of `verify.js` agree with the library (`lianlog check …`) on the same
//! good and tampered files, and the served pages work for an officer and an auditor. Each page's
//! screenshot is saved under `target/browser-screenshots/` for review (docs/screenshots/ holds the
//! ones the guides show). Without chromium and chromedriver the tests print a skip line, and fail
//! when `CI` is set (`.ci/run` installs them).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::{self, Fixture, lianlog};
use crate::serve::Server;
use crate::webdriver::Browser;

/// `target/browser-screenshots/NAME.png`.
fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("browser-screenshots").join(format!("{name}.png"))
}

fn log_vkey(fixture: &Fixture) -> String {
    fixture.verify_json()["log_key"].as_str().unwrap().to_string()
}

/// The verify.js under test, as served at /assets/verify.js.
fn verify_js() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src/web/assets/verify.js").canonicalize().unwrap()
}

/// A page with the check page's controls (the contract with the server's /check page) and
/// verify.js, opened from a file: the script's checks alone, without a server.
fn static_check_page(dir: &Path) -> String {
    let page = dir.join("check.html");
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>核验</title>\
         <script src=\"file://{}\" defer></script></head><body><label for=\"check-key\">日志公钥</label>\
         <textarea id=\"check-key\"></textarea><label for=\"check-file\">文件</label>\
         <input type=\"file\" id=\"check-file\"><output id=\"check-result\"></output></body></html>",
        verify_js().display()
    );
    std::fs::write(&page, html).unwrap();
    format!("file://{}", page.display())
}

/// Choose `file` on the check page with `vkey` pinned; the result's status (`pass`/`fail`) and text.
fn check_in_browser(browser: &Browser, page: &str, vkey: &str, file: &Path) -> (String, String) {
    browser.goto(page);
    let key = browser.find("#check-key");
    browser.clear(&key);
    browser.type_text(&key, vkey);
    browser.type_text(&browser.find("#check-file"), &file.display().to_string());
    browser.wait_for("the check's result", |b| {
        let status = b.script("return document.getElementById('check-result').dataset.status || ''", json!([]));
        let status = status.as_str().unwrap_or_default().to_string();
        (status == "pass" || status == "fail" || status == "warning")
            .then(|| (status, b.text(&b.find("#check-result"))))
    })
}

/// Whether `lianlog check ARGS` accepts (exit 0) or refuses (exit 1) the file.
fn library_accepts(fixture: &Fixture, args: &[&str]) -> bool {
    let output = lianlog().current_dir(&fixture.root).arg("check").args(args).output().unwrap();
    match output.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("lianlog check {args:?}: {:?}", common::output_text(&output)),
    }
}

fn write(fixture: &Fixture, name: &str, contents: &str) -> PathBuf {
    let path = fixture.root.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn verify_js_agrees_with_the_library_on_good_and_tampered_files() {
    let Some(browser) = Browser::start("verify_js_agrees_with_the_library_on_good_and_tampered_files") else {
        return;
    };
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let page = static_check_page(&fixture.root);

    // Receipts: good, the entry's time moved, another seq claimed.
    let receipt = fixture.root.join("receipt.jsonl");
    fixture
        .cmd()
        .args(["append", "interview", "--key"])
        .arg(&fixture.qian)
        .arg("--receipt")
        .arg(&receipt)
        .write_stdin(common::interview_body("赵六", "提醒谈话").to_string())
        .assert()
        .success();
    let text = std::fs::read_to_string(&receipt).unwrap();
    let mut moved: Value = serde_json::from_str(&text).unwrap();
    moved["entry"]["time"] = json!("2020-01-01T00:00:00.000Z");
    let mut reseq: Value = serde_json::from_str(&text).unwrap();
    reseq["seq"] = json!(3);
    let receipts = [
        ("receipt", receipt.clone(), true),
        ("receipt-time-moved", write(&fixture, "moved.jsonl", &format!("{moved}\n")), false),
        ("receipt-other-seq", write(&fixture, "reseq.jsonl", &format!("{reseq}\n")), false),
    ];

    // A disclosure package with a masked record: good; the masked body altered (only the issuer's
    // signature covers it); a full body altered (its salted hash covers it).
    let joint = json!({
        "report_id": "R-2025-003",
        "subjects": [common::person("P-1001", "张三", "市住建局"), common::person("P-2002", "赵六", "市水务局")],
        "source": "petition",
        "summary": "反映张三与赵六在项目招标中违规",
        "received_on": "2025-06-02",
    });
    fixture.append("report.received", &joint, &fixture.qian).success();
    let package = fixture.root.join("P-1001.json");
    fixture.cmd().args(["disclose", "P-1001", "--out"]).arg(&package).arg("--key").arg(&fixture.sun).assert().success();
    let text = std::fs::read_to_string(&package).unwrap();
    assert!(text.contains("2025-06-02") && text.contains("反映其履行全面从严治党主体责任不力"), "{text}");
    // One hex digit of the first inclusion proof changed.
    let at = text.find("\"proof\":[\"").unwrap() + "\"proof\":[\"".len();
    let flipped = if &text[at..=at] == "0" { "1" } else { "0" };
    let proof_altered = format!("{}{flipped}{}", &text[..at], &text[at + 1..]);
    let packages = [
        ("package", package.clone(), true),
        (
            "package-masked-altered",
            write(&fixture, "masked.json", &text.replacen("2025-06-02", "2025-06-03", 1)),
            false,
        ),
        (
            "package-body-altered",
            write(&fixture, "body.json", &text.replacen("主体责任不力", "主体责任到位", 1)),
            false,
        ),
        ("package-proof-altered", write(&fixture, "proof.json", &proof_altered), false),
    ];

    for (name, file, good) in receipts.iter() {
        let (status, shown) = check_in_browser(&browser, &page, &vkey, file);
        let library =
            library_accepts(&fixture, &["inclusion", "--receipt", &file.display().to_string(), "--vkey", &vkey]);
        assert_eq!(library, *good, "{name}: the library");
        assert_eq!(status == "pass", *good, "{name}: verify.js says {shown}");
    }
    for (name, file, good) in packages.iter() {
        let (status, shown) = check_in_browser(&browser, &page, &vkey, file);
        let library = library_accepts(&fixture, &["disclosure", &file.display().to_string(), "--vkey", &vkey]);
        assert_eq!(library, *good, "{name}: the library");
        assert_eq!(status == "pass", *good, "{name}: verify.js says {shown}");
    }
    let (status, shown) = check_in_browser(&browser, &page, &vkey, &receipt);
    assert!(status == "pass" && shown.starts_with("核验通过 Verified") && shown.contains("interview"), "{shown}");
    browser.screenshot(&screenshot_path("check-static-receipt-good"));

    // Checkpoints: this ledger's, altered, under another key; and the format's vectors, made by an
    // independent implementation, under their own log key.
    let checkpoint = fixture.cmd().arg("checkpoint").output().unwrap();
    let checkpoint = String::from_utf8(checkpoint.stdout).unwrap();
    let size_line = checkpoint.lines().nth(1).unwrap().to_string();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let keys: Value = serde_json::from_slice(&std::fs::read(vectors.join("keys.json")).unwrap()).unwrap();
    let vectors_vkey = keys["log"]["vkey"].as_str().unwrap();
    let vector_checkpoint = std::fs::read_to_string(vectors.join("checkpoint")).unwrap();
    let cases = [
        ("checkpoint", write(&fixture, "cp", &checkpoint), vkey.as_str(), true),
        (
            "checkpoint-size-altered",
            write(&fixture, "cp-size", &checkpoint.replacen(&format!("\n{size_line}\n"), "\n1\n", 1)),
            vkey.as_str(),
            false,
        ),
        ("checkpoint-other-key", write(&fixture, "cp-other", &checkpoint), vectors_vkey, false),
        ("vectors-checkpoint", write(&fixture, "cp-vectors", &vector_checkpoint), vectors_vkey, true),
        (
            "vectors-checkpoint-root-altered",
            write(&fixture, "cp-vectors-root", &vector_checkpoint.replacen("LFq0", "LFq1", 1)),
            vectors_vkey,
            false,
        ),
    ];
    for (name, file, key, good) in cases {
        let (status, shown) = check_in_browser(&browser, &page, key, &file);
        assert_eq!(status == "pass", good, "{name}: verify.js says {shown}");
    }
    let (status, shown) = check_in_browser(&browser, &page, &vkey, &receipts[1].1);
    assert!(status == "fail" && shown.starts_with("核验失败 Verification failed"), "{shown}");
    browser.screenshot(&screenshot_path("check-static-receipt-tampered"));
}

/// `lianlog --server URL login --key FILE`: the one-time sign-in URL it prints.
fn login_url(server: &Server, key: &Path) -> String {
    let output = lianlog().args(["--server", &server.url, "login", "--key"]).arg(key).output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert!(output.status.success(), "lianlog login: {stdout}{stderr}");
    let url = stdout.lines().next().unwrap_or_default().trim().to_string();
    assert!(url.starts_with(&format!("{}/login/", server.url)), "{stdout}");
    url
}

/// Open the one-time sign-in URL and press its button, as a person does.
fn sign_in(browser: &Browser, url: &str) {
    browser.goto(url);
    browser.click(&browser.find("#login-confirm"));
    browser.wait_for("the session", |b| b.page_text().contains("已登录").then_some(()));
}

/// Open `path`, check it is a Chinese page that loaded without an error, save its screenshot.
fn visit(browser: &Browser, server: &Server, path: &str, screenshot: &str) -> String {
    browser.goto(&format!("{}{path}", server.url));
    let lang = browser.script("return document.documentElement.lang", json!([]));
    assert_eq!(lang, "zh-CN", "{path}");
    let text = browser.page_text();
    assert!(!text.contains("需要登录") && !text.contains("Sign-in needed"), "{path} asks to sign in: {text}");
    browser.screenshot(&screenshot_path(screenshot));
    text
}

/// Click the record page's verify button and wait for its verdict.
fn verify_record(browser: &Browser) -> (String, String) {
    browser.click(&browser.find("#verify-button"));
    browser.wait_for("the record's verification", |b| {
        let status = b.script("return document.getElementById('verify-result').dataset.status || ''", json!([]));
        let status = status.as_str().unwrap_or_default().to_string();
        (status == "pass" || status == "fail" || status == "warning")
            .then(|| (status, b.text(&b.find("#verify-result"))))
    })
}

#[test]
fn the_pages_in_a_real_browser_for_an_officer_and_an_auditor() {
    let Some(browser) = Browser::start("the_pages_in_a_real_browser_for_an_officer_and_an_auditor") else {
        return;
    };
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let receipt = fixture.root.join("receipt.jsonl");
    fixture
        .cmd()
        .args(["append", "interview", "--key"])
        .arg(&fixture.qian)
        .arg("--receipt")
        .arg(&receipt)
        .write_stdin(common::interview_body("张三", "年度述责述廉后提醒谈话").to_string())
        .assert()
        .success();
    let text = std::fs::read_to_string(&receipt).unwrap();
    let mut tampered: Value = serde_json::from_str(&text).unwrap();
    tampered["entry"]["time"] = json!("2020-01-01T00:00:00.000Z");
    let tampered = write(&fixture, "tampered.jsonl", &format!("{tampered}\n"));
    // A second person with a file of their own (the fixture names everyone P-1001), for the
    // integrity file's screenshot.
    let li = common::person("P-3001", "李四", "市交通局");
    let report = json!({"report_id": "R-2025-010", "subjects": [li], "source": "petition",
        "summary": "反映其在道路工程验收中把关不严", "received_on": "2025-07-01"});
    fixture.append("report.received", &report, &fixture.qian).success();
    let interview = json!({"interview_type": "accountability_interview", "subjects": [li],
        "interviewers": [common::person("P-0101", "钱干事", "第一监督检查室")], "held_on": "2025-07-15",
        "reason": "道路工程验收把关不严，约谈提醒", "requirements": ["十五日内报送整改方案"], "report_id": "R-2025-010"});
    fixture.append("interview", &interview, &fixture.qian).success();
    let conclusion = json!({"report_id": "R-2025-010", "finding": "substantiated", "disposition": "批评教育",
        "concluded_on": "2025-08-01"});
    fixture.append("report.concluded", &conclusion, &fixture.sun).success();
    // A rectification past its due date, for the overdue list.
    let rectification = json!({"rectification_id": "ZG-2025-007", "target": {"org_id": "O-3001", "name": "市交通局"},
        "issued_on": "2025-08-10", "items": [{"content": "建立道路工程验收台账", "responsible": li, "due": "2025-09-30"}]});
    fixture.append("rectification.ordered", &rectification, &fixture.qian).success();
    let server = Server::start(&fixture.ledger, &[]);

    // Without a session: the overview, statistics and check pages; the others ask to sign in.
    let overview = visit(&browser, &server, "/", "overview");
    assert!(overview.contains("总览"), "{overview}");
    browser.goto(&format!("{}/records", server.url));
    assert!(browser.page_text().contains("登录"), "{}", browser.page_text());

    // An officer signs in with the one-time URL; it works once.
    let url = login_url(&server, &fixture.qian);
    sign_in(&browser, &url);
    let records = visit(&browser, &server, "/records", "records");
    assert!(records.contains("约谈") && records.contains("张三"), "{records}");

    // Filter the records by kind through the form.
    browser.goto(&format!("{}/records", server.url));
    browser.click(&browser.find("#f-kind option[value='report.received']"));
    browser.click(&browser.find("form.filters button[type='submit']"));
    let filtered =
        browser.wait_for("the filtered list", |b| b.url().contains("kind=report.received").then(|| b.page_text()));
    assert!(filtered.contains("共 3 条") && filtered.contains("李四") && !filtered.contains("王五"), "{filtered}");
    browser.screenshot(&screenshot_path("records-filtered"));

    // A record's page: every field, and the in-browser verification. With no key pinned it uses
    // the page's key and warns that this trusts the server; under another pinned key it fails;
    // under the log key pinned on the check page it passes without a warning.
    let record = visit(&browser, &server, "/records/5", "record");
    assert!(record.contains("工程项目监管中苗头性、倾向性问题"), "{record}");
    let (status, shown) = verify_record(&browser);
    assert!(
        status == "warning"
            && shown.contains("未核验")
            && !shown.contains("核验通过")
            && shown.contains("注意：未固定日志公钥"),
        "{shown}"
    );
    let pin = |key: &str| {
        browser.goto(&format!("{}/check", server.url));
        let field = browser.find("#check-key");
        browser.clear(&field);
        browser.type_text(&field, key);
        browser.script("document.getElementById('check-key').dispatchEvent(new Event('change'))", json!([]));
    };
    let other: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/keys.json")).unwrap(),
    )
    .unwrap();
    pin(other["log"]["vkey"].as_str().unwrap());
    browser.goto(&format!("{}/records/5", server.url));
    let (status, shown) = verify_record(&browser);
    assert!(status == "fail" && shown.contains("核验失败"), "{shown}");
    pin(&vkey);
    browser.goto(&format!("{}/records/5", server.url));
    let (status, shown) = verify_record(&browser);
    assert!(status == "pass" && shown.contains("核验通过") && !shown.contains("注意"), "{shown}");
    browser.screenshot(&screenshot_path("record-verified"));

    // A person's integrity file, cases, statistics.
    let person = visit(&browser, &server, "/people/P-1001", "person-P-1001");
    assert!(person.contains("廉政档案") && person.contains("张三") && person.contains("下载公开包"), "{person}");
    let person = visit(&browser, &server, "/people/P-3001", "person");
    assert!(person.contains("李四") && person.contains("道路工程验收") && !person.contains("张三"), "{person}");
    let cases = visit(&browser, &server, "/cases", "cases");
    assert!(cases.contains("R-2025-001") && cases.contains("ZG-2025-007") && cases.contains("2025-09-30"), "{cases}");
    let stats = visit(&browser, &server, "/stats?year=2025", "stats");
    assert!(stats.contains("统计"), "{stats}");
    assert!(browser.try_find("svg").is_some(), "the statistics page has its chart");

    // The check page: a good receipt and a tampered one.
    let page = format!("{}/check", server.url);
    let (status, shown) = check_in_browser(&browser, &page, &vkey, &receipt);
    assert!(status == "pass" && shown.contains("核验通过"), "{shown}");
    browser.screenshot(&screenshot_path("check-receipt-good"));
    let (status, shown) = check_in_browser(&browser, &page, &vkey, &tampered);
    assert!(status == "fail" && shown.contains("核验失败") && shown.contains("entry_hash"), "{shown}");
    browser.screenshot(&screenshot_path("check-receipt-tampered"));

    // Sign out; an auditor signs in and sees no body text, but verifies the same record.
    browser.goto(&format!("{}/", server.url));
    browser.click(&browser.find("form[action='/logout'] button"));
    browser.goto(&format!("{}/records/5", server.url));
    assert!(browser.page_text().contains("登录"), "signed out: {}", browser.page_text());
    sign_in(&browser, &login_url(&server, &fixture.auditor));
    let audited = visit(&browser, &server, "/records/5", "auditor-record");
    for body_text in ["工程项目监管中苗头性", "一个月内报送整改方案", "反映其履行全面从严治党主体责任不力"]
    {
        assert!(!audited.contains(body_text), "the auditor sees {body_text:?}: {audited}");
    }
    let (status, shown) = verify_record(&browser);
    assert!(status == "pass" && !shown.contains("哈希瓦片"), "{shown}");
    // Without the proof service (a server that does not answer it), the proof is computed from the
    // public hash tiles, and still checks.
    browser.script("document.getElementById('verify').dataset.proofUrl = '/no-proof-here?seq=5'", json!([]));
    let (status, shown) = verify_record(&browser);
    assert!(status == "pass" && shown.contains("公开哈希瓦片"), "{shown}");
    let person = visit(&browser, &server, "/people/P-1001", "auditor-person");
    assert!(!person.contains("反映其履行全面从严治党主体责任不力"), "{person}");
    let records = visit(&browser, &server, "/records", "auditor-records");
    assert!(!records.contains("一个月内报送整改方案"), "{records}");
    drop(browser);
    server.kill();
}

#[test]
fn a_record_proof_from_the_hash_tiles_past_the_first_tile() {
    let Some(browser) = Browser::start("a_record_proof_from_the_hash_tiles_past_the_first_tile") else {
        return;
    };
    // 300 entries: a full level-0 tile, a partial one, and a level-1 tile of one hash.
    let fixture = Fixture::build();
    let lines: String = (0..290)
        .map(|n| {
            let body = common::interview_body(&format!("干部{n}"), "提醒谈话");
            format!("{}\n", json!({"kind": "interview", "body": body}))
        })
        .collect();
    fixture.cmd().args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines).assert().success();
    let server = Server::start(&fixture.ledger, &[]);
    sign_in(&browser, &login_url(&server, &fixture.auditor));
    // The log key pinned as the check page pins it (without a pin the result is only a warning).
    browser.script("localStorage.setItem('lianlog-pinned-vkey', arguments[0])", json!([log_vkey(&fixture)]));
    for seq in [0, 255, 256, 299] {
        browser.goto(&format!("{}/records/{seq}", server.url));
        let (status, shown) = verify_record(&browser);
        assert!(status == "pass" && !shown.contains("哈希瓦片"), "seq {seq}: {shown}");
        browser.script("document.getElementById('verify').dataset.proofUrl = '/no-proof-here?seq=0'", json!([]));
        let (status, shown) = verify_record(&browser);
        assert!(status == "pass" && shown.contains("公开哈希瓦片") && shown.contains("300"), "seq {seq}: {shown}");
    }
    // A page that shows another entry than the one verified (a lying page, a true line) fails.
    browser.goto(&format!("{}/records/7", server.url));
    browser.script("document.getElementById('verify').dataset.entryHash = '0'.repeat(64)", json!([]));
    let (status, shown) = verify_record(&browser);
    assert!(status == "fail" && shown.contains("页面与条目不符"), "{shown}");
    drop(browser);
    server.kill();
}
