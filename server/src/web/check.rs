//! `/check` 核验: the page shell where a receipt, disclosure package or checkpoint is checked in
//! the browser against a pinned log key (the script, `/assets/verify.js`, does the checking).
//!
//! Guarantees: no session is needed and no personal data is shown; the page names the log's key
//! only for comparison, and the form works on files the user chooses, never sent to the server.

use maud::{Markup, html};

/// The check page's main part: the file chooser, the pinned key and the result.
pub(crate) fn main(log_vkey: &str) -> Markup {
    html! {
        p { "选择回执、公开包或检查点文件，在浏览器中用你固定的日志公钥核验；文件不上传到服务器。"
            br; "Choose a receipt, disclosure package or checkpoint: it is verified in your browser against the log key you pinned; the file is not sent to the server." }
        form.check id="check-form" {
            p {
                label for="check-file" { "文件 File" }
                input type="file" id="check-file" accept=".json,.txt,.note,.receipt,application/json,text/plain";
            }
            p {
                label for="check-key" { "固定的日志公钥 Pinned log key (vkey)" }
                textarea id="check-key" rows="3" spellcheck="false" placeholder=(log_vkey) {}
            }
            p.hint { "本服务器的日志公钥 This server's log key (compare, do not just copy): " code.vkey { (log_vkey) } }
        }
        p { output id="check-result" for="check-file check-key" { "尚未核验 Not checked yet" } }
        noscript { p.warn { "核验需要 JavaScript。Checking needs JavaScript; or use " code { "lianlog receipt verify" } "." } }
    }
}
