//! `stats --csv` for spreadsheets (issue 18): a UTF-8 byte order mark unless `--no-bom`, CRLF line
//! ends (RFC 4180), Chinese headers with `--lang zh`; and the file opens right in LibreOffice
//! (checked where `soffice` is installed, skipped with a note otherwise: it is not installed for
//! this test).

use std::path::Path;
use std::process::Command;

use crate::common::{Fixture, output_text};

const BOM: &[u8] = b"\xef\xbb\xbf";

fn stats_csv(fixture: &Fixture, extra: &[&str]) -> Vec<u8> {
    let output = fixture.cmd().args(["stats", "--by", "unit", "--csv"]).args(extra).output().unwrap();
    assert!(output.status.success(), "{extra:?}: {:?}", output_text(&output));
    output.stdout
}

#[test]
fn stats_csv_has_a_bom_crlf_and_chinese_headers_when_asked() {
    let fixture = Fixture::build();
    let csv = stats_csv(&fixture, &[]);
    assert!(csv.starts_with(BOM), "a byte order mark first");
    let text = String::from_utf8(csv[BOM.len()..].to_vec()).expect("UTF-8");
    assert!(text.starts_with("group,kind,kind_zh,count\r\n"), "{text}");
    assert!(text.ends_with("\r\n") && text.split("\r\n").all(|line| !line.contains('\n')), "CRLF only: {text:?}");
    assert!(text.contains("市住建局,interview,"), "{text}");

    let csv = stats_csv(&fixture, &["--no-bom"]);
    assert!(csv.starts_with(b"group,kind,kind_zh,count\r\n"), "no byte order mark");

    let csv = String::from_utf8(stats_csv(&fixture, &["--lang", "zh"])).unwrap();
    assert!(csv.starts_with("\u{feff}单位,类型代码,类型,数量\r\n"), "{csv}");

    for args in [&["stats", "--no-bom"][..], &["stats", "--lang", "zh"][..]] {
        let output = fixture.cmd().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?} without --csv: {:?}", output_text(&output));
    }
}

/// `soffice` on the PATH, if LibreOffice is installed.
fn soffice() -> Option<&'static str> {
    ["soffice", "libreoffice"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|output| output.status.success()))
}

fn convert(soffice: &str, profile: &Path, to: &str, file: &Path, out: &Path) {
    let output = Command::new(soffice)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--convert-to", to, "--outdir"])
        .arg(out)
        .arg(file)
        .output()
        .expect("run soffice");
    assert!(output.status.success(), "soffice --convert-to {to}: {:?}", output_text(&output));
}

#[test]
fn stats_csv_opens_right_in_libreoffice() {
    let Some(soffice) = soffice() else {
        println!("note: LibreOffice (soffice) is not installed; the spreadsheet round trip is skipped");
        return;
    };
    let fixture = Fixture::build();
    let dir = fixture.root.join("spreadsheet");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("stats.csv");
    std::fs::write(&csv, stats_csv(&fixture, &["--lang", "zh"])).unwrap();
    let profile = fixture.root.join("libreoffice-profile");
    // CSV (detected as UTF-8 by its byte order mark) → xlsx → CSV in UTF-8 (filter option 76).
    convert(soffice, &profile, "xlsx", &csv, &dir);
    let back = dir.join("back");
    convert(soffice, &profile, "csv:Text - txt - csv (StarCalc):44,34,76", &dir.join("stats.xlsx"), &back);
    let text = std::fs::read_to_string(back.join("stats.csv")).expect("the round-tripped CSV is UTF-8");
    let text = text.trim_start_matches('\u{feff}');
    assert!(text.starts_with("单位,类型代码,类型,数量"), "the Chinese headers survive: {text}");
    assert!(text.contains("市住建局,interview,"), "the Chinese cells survive: {text}");
}
