//! CSV for spreadsheets (`stats --csv`), as RFC 4180 writes it and Excel on a Chinese Windows
//! reads it: CRLF line ends; a field holding a comma, a double quote, CR or LF is quoted, its
//! quotes doubled; a UTF-8 byte order mark first unless asked not to (without it Excel reads the
//! file as GBK and shows the Chinese garbled). Headers in English (`group,kind,kind_zh,count`,
//! unchanged for scripts) or Chinese (`--lang zh`).
//!
//! The bytes are written as they are (not through `println!`, which would keep no CR), but every
//! field first passes [`super::terminal_safe`], as all other text output does.
//!
//! A text field that a spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`, a
//! tab or CR: OWASP's "CSV injection") gets a leading `'`, which Excel, WPS and LibreOffice show
//! as text and do not display: unit names are typed by officers, and a file opened by another
//! office must not run what someone typed into a record.

use std::collections::BTreeMap;
use std::io::Write as _;

use lianlog_ledger::query::StatsGrouping;
use lianlog_ledger::{Error, schema as kinds};

/// The UTF-8 byte order mark (U+FEFF), which tells Excel the file is UTF-8.
pub const BOM: &str = "\u{feff}";

/// The language of the CSV's header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headers {
    /// `group,kind,kind_zh,count`: the columns' names for scripts.
    English,
    /// `单位|年度|月份,类型代码,类型,数量`: for people opening the file in a spreadsheet.
    Chinese,
}

/// One field as RFC 4180 writes it: quoted (quotes doubled) when it holds `,`, `"`, CR or LF; a
/// text a spreadsheet would take for a formula is prefixed with `'` (see the module docs).
pub fn field(text: &str) -> String {
    let text = super::terminal_safe(text);
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        text
    };
    if text.contains([',', '"', '\r', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.into_owned() }
}

/// One record: the fields, quoted where needed, separated by commas, ended by CRLF.
fn record(fields: &[&str]) -> String {
    let mut line = fields.iter().map(|text| field(text)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// The statistics (`Queries::stats`) as CSV text: the header line, then one record per group and
/// kind; with `bom`, the byte order mark first.
pub fn stats_csv(stats: &BTreeMap<(String, String), u64>, by: StatsGrouping, headers: Headers, bom: bool) -> String {
    let mut out = String::from(if bom { BOM } else { "" });
    out.push_str(&match headers {
        Headers::English => record(&["group", "kind", "kind_zh", "count"]),
        Headers::Chinese => {
            let group = match by {
                StatsGrouping::Unit => "单位",
                StatsGrouping::Kind => "年度",
                StatsGrouping::Month => "月份",
            };
            record(&[group, "类型代码", "类型", "数量"])
        }
    });
    for ((group, kind), count) in stats {
        out.push_str(&record(&[group, kind, kinds::label_zh(kind), &count.to_string()]));
    }
    out
}

/// Write `text` to standard output as it is.
pub fn write_stdout(text: &str) -> lianlog_ledger::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|err| Error::io("write", "standard output", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("市住建局"), "市住建局");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(record(&["a", "b,c", "1"]), "a,\"b,c\",1\r\n");
    }

    #[test]
    fn a_field_a_spreadsheet_would_run_as_a_formula_is_kept_as_text() {
        assert_eq!(field("=HYPERLINK(\"http://x\",\"点击\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"点击\"\")\"");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("市住建局-二科"), "市住建局-二科");
        assert_eq!(field("42"), "42");
    }

    #[test]
    fn a_control_character_is_shown_not_written() {
        assert_eq!(field("a\u{1b}[31mb"), "a<U+001B>[31mb");
    }

    #[test]
    fn stats_have_a_bom_crlf_and_headers_in_either_language() {
        let stats = BTreeMap::from([(("市住建局, 二处".to_string(), "interview".to_string()), 3u64)]);
        let english = stats_csv(&stats, StatsGrouping::Unit, Headers::English, true);
        assert_eq!(english, "\u{feff}group,kind,kind_zh,count\r\n\"市住建局, 二处\",interview,约谈/谈话,3\r\n");
        let chinese = stats_csv(&stats, StatsGrouping::Unit, Headers::Chinese, false);
        assert_eq!(chinese, "单位,类型代码,类型,数量\r\n\"市住建局, 二处\",interview,约谈/谈话,3\r\n");
        assert!(stats_csv(&stats, StatsGrouping::Month, Headers::Chinese, false).starts_with("月份,"));
    }
}
