// lianlog in-browser verification (浏览器内核验), served as /assets/verify.js.
//
// What it guarantees: a result "核验通过 Verified" is shown only after this script, with the
// browser's own WebCrypto (SHA-256, Ed25519) and nothing from the server but bytes to check, has
//  - on a record page (<section id="verify">): recomputed the entry's RFC 6962 leaf hash from the
//    stored line, checked the line's canonical form (and its body hash when it has a body), checked
//    the inclusion proof (the server's, or computed from the public hash tiles when the server
//    does not answer it) up to the root of a checkpoint, and checked that checkpoint's Ed25519
//    signed-note signature under the pinned log key (docs/FORMAT.md sections 2, 5, 6, 8, 9, 15);
//  - on the check page (#check-file): checked a receipt file (every receipt: entry hash, seq,
//    inclusion bundle, checkpoint; FORMAT.md section 14), a checkpoint, or a disclosure package v2
//    (canonical form, checkpoint, every line's body hash and inclusion, the key registry walk with
//    every record signature and authorization, the issuer's signature; PRIVACY.md steps 1-5 and 7).
// The rules are those of the Rust library (ledger/src/receipt.rs, proof.rs, note.rs,
// disclosure/checking.rs), which `lianlog check inclusion|disclosure` runs; the browser tests
// (cli/tests/it/browser.rs) check both agree on the same good and tampered files. What this
// script does not check (the disclosure "concerns the person" rule, cosigner policies) it says.
//
// The pinned key: what the user pasted into #check-key, kept in localStorage. Without one the
// page's <meta name="lianlog-log-vkey"> is used, with a warning that this trusts the server.
// Plain script: no library, no network access but same-origin URLs (the page's data-* URLs and
// /tile/…). It says nothing about a script changed by the server that serves it: SECURITY.md.
"use strict";
(function () {
  const PIN = "lianlog-pinned-vkey";
  const utf8 = new TextEncoder();
  const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

  class CheckError extends Error {}
  /** A failed check: Chinese first, then English. */
  function fail(zh, en) {
    throw new CheckError(zh + " — " + en);
  }

  // ---- bytes -------------------------------------------------------------------------------
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  function equal(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  /** Lowercase hex of exactly `n` bytes, or null. */
  function fromHex(text, n) {
    if (typeof text !== "string" || text.length !== 2 * n || !/^[0-9a-f]*$/.test(text)) return null;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }
  function toBase64(bytes) {
    return btoa(String.fromCharCode(...bytes));
  }
  /** Canonical padded standard base64 only (one spelling per value, as the library). */
  function fromBase64(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
    let bytes;
    try {
      bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    } catch (_) {
      return null;
    }
    return toBase64(bytes) === text ? bytes : null;
  }
  /** A decimal without leading zeros that fits in 64 bits, as a BigInt, or null. */
  function decimal(text) {
    if (!/^(0|[1-9][0-9]*)$/.test(text)) return null;
    const n = BigInt(text);
    return n < 1n << 64n ? n : null;
  }

  // ---- canonical JSON (FORMAT.md section 2) -----------------------------------------------
  function jcsString(s) {
    let out = '"';
    for (const ch of s) {
      const c = ch.charCodeAt(0);
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (c < 0x20) {
        const short = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" }[c];
        out += short || "\\u00" + c.toString(16).padStart(2, "0");
      } else out += ch;
    }
    return out + '"';
  }
  /** JCS of a value, restricted as FORMAT.md section 2 says; throws on what it forbids. */
  function jcs(value) {
    if (value === null) return "null";
    if (value === true) return "true";
    if (value === false) return "false";
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) fail("数值不是安全整数", "a number is not an integer within ±(2^53−1)");
      return String(value);
    }
    if (typeof value === "string") return jcsString(value);
    if (Array.isArray(value)) return "[" + value.map(jcs).join(",") + "]";
    const keys = Object.keys(value);
    if (keys.some((k) => !/^[\x00-\x7f]*$/.test(k))) fail("对象键不是 ASCII", "an object key is not ASCII");
    keys.sort();
    return "{" + keys.map((k) => jcsString(k) + ":" + jcs(value[k])).join(",") + "}";
  }
  /** Parse JSON text that must already be canonical (re-serializing gives the same text). */
  function parseCanonical(text, what) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      fail(what + " 不是 JSON", what + " is not JSON: " + e.message);
    }
    if (jcs(value) !== text) {
      fail(what + " 不是规范形式", what + " is not in canonical form (FORMAT.md section 2): it was altered");
    }
    return value;
  }
  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }
  /** An object with exactly the `required` members and any of the `optional` ones. */
  function members(value, place, required, optional = []) {
    if (!isObject(value)) fail(place + " 不是对象", place + " must be a JSON object");
    for (const k of Object.keys(value)) {
      if (!required.includes(k) && !optional.includes(k)) fail(place + " 有多余成员", place + "." + k + ": unknown member");
    }
    for (const k of required) if (!(k in value)) fail(place + " 缺少成员", place + "." + k + ": missing");
    return value;
  }

  // ---- hashes, keys, signatures ------------------------------------------------------------
  async function sha256(...parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
  }
  const leafHash = (entryBytes) => sha256(new Uint8Array([0]), entryBytes);
  const nodeHash = (left, right) => sha256(new Uint8Array([1]), left, right);

  // Small-order Ed25519 points (with the sign bit cleared), refused as keys as the library does.
  const SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ];
  function isSmallOrder(pub) {
    const masked = Uint8Array.from(pub);
    masked[31] &= 0x7f;
    return SMALL_ORDER.includes(toHex(masked));
  }
  function validName(name) {
    return /^[\x21-\x7e]{1,128}$/.test(name) && !name.includes("+");
  }

  /** A verifier key `name+HEXID+BASE64` (C2SP signed-note vkey), its id checked. */
  async function parseVkey(text) {
    // The base64 may hold `+`; the name and the id never do.
    const m = /^([^+]+)\+([^+]*)\+(.*)$/.exec(String(text).trim());
    if (!m || !validName(m[1])) fail("密钥格式不对", "not a verifier key of the form name+HEXID+BASE64");
    const [, name, hexId, b64] = m;
    const raw = fromBase64(b64);
    const id = fromHex(hexId, 4);
    if (!raw || !id || raw.length !== 33 || raw[0] !== 1) {
      fail("密钥格式不对", "the key is not a plain Ed25519 (type 0x01) verifier key name+HEXID+BASE64");
    }
    const computed = (await sha256(utf8.encode(name + "\n"), raw)).slice(0, 4);
    if (!equal(computed, id)) fail("密钥标识不符", "the key id " + hexId + " does not match the key's name and bytes");
    return keyFrom(name, raw.slice(1), id);
  }
  function keyFrom(name, pub, id) {
    return { name, pub, id, identity: name + "+" + toHex(id), vkey: name + "+" + toHex(id) + "+" + toBase64(concat(new Uint8Array([1]), pub)) };
  }
  /** Strict Ed25519: a small-order key never verifies; WebCrypto refuses a non-canonical S. */
  async function ed25519(pub, signature, message) {
    if (isSmallOrder(pub) || signature.length !== 64) return false;
    let key;
    try {
      key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      if (e && e.name === "NotSupportedError") {
        fail("此浏览器不支持 Ed25519", "this browser's WebCrypto has no Ed25519 (Chromium 137 or newer has it)");
      }
      return false;
    }
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }
  /** A signature value base64(key id ‖ signature) by `key` over `message`. */
  async function signatureValueOk(key, value, message) {
    const bytes = fromBase64(value);
    if (!bytes || bytes.length !== 68 || !equal(bytes.slice(0, 4), key.id)) return false;
    return ed25519(key.pub, bytes.slice(4), message);
  }

  // ---- notes and checkpoints (FORMAT.md section 9) -----------------------------------------
  function parseNote(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) fail("不是签名注记", "not a signed note: no blank line before the signatures");
    const text = note.slice(0, split + 1);
    const block = note.slice(split + 2);
    if (!block.endsWith("\n") || block === "\n") fail("不是签名注记", "not a signed note: the signature lines do not end with a newline");
    const signatures = block.slice(0, -1).split("\n").map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      const bytes = m && fromBase64(m[2]);
      if (!m || !validName(m[1]) || !bytes || bytes.length < 5) fail("签名行格式不对", "a signature line is not `— name base64`");
      return { name: m[1], id: bytes.slice(0, 4), sig: bytes.slice(4) };
    });
    return { text, signatures };
  }
  /** Open a checkpoint note with the log key: its origin is the key's name, the key signed it. */
  async function openCheckpoint(note, key) {
    const { text, signatures } = parseNote(note);
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3 || lines.slice(3).some((l) => l === "")) fail("不是检查点", "not a checkpoint: origin, size and root lines expected");
    const [origin, sizeText, rootText] = lines;
    const size = decimal(sizeText);
    const root = fromBase64(rootText);
    if (size === null || !root || root.length !== 32) fail("不是检查点", "not a checkpoint: bad size or root line");
    if (origin !== key.name) {
      fail("检查点不属于此账本", "the checkpoint is for origin " + origin + ", but the pinned log key is " + key.identity);
    }
    let signed = false;
    let cosignatures = 0;
    for (const s of signatures) {
      if (s.name === key.name && equal(s.id, key.id)) {
        if (!(await ed25519(key.pub, s.sig, utf8.encode(text)))) {
          fail("检查点签名无效", "the log key's signature on the checkpoint does not verify: it was altered or is not this log's");
        }
        signed = true;
      } else cosignatures++;
    }
    if (!signed) fail("检查点无日志密钥签名", "the checkpoint has no signature by the pinned log key " + key.identity);
    return { origin, size, root, cosignatures };
  }

  // ---- Merkle inclusion (RFC 9162 section 2.1.3.2) -----------------------------------------
  async function inclusionOk(index, size, leaf, path, root) {
    index = BigInt(index);
    size = BigInt(size);
    if (index >= size) return false;
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const p of path) {
      if (sn === 0n) return false;
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else r = await nodeHash(r, p);
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equal(r, root);
  }

  // ---- entries and stored lines (FORMAT.md sections 4-6) -----------------------------------
  const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
  function checkEntry(entry, place) {
    members(entry, place, ["prev", "record", "seq", "sig", "time"]);
    const record = members(entry.record, place + ".record", ["author", "body_hash", "created", "kind", "ledger", "v"]);
    const ok =
      Number.isSafeInteger(entry.seq) && entry.seq >= 0 && fromHex(entry.prev, 32) && TIME.test(entry.time) &&
      typeof entry.sig === "string" && Number.isSafeInteger(record.v) && typeof record.kind === "string" &&
      typeof record.author === "string" && typeof record.ledger === "string" && TIME.test(record.created) &&
      fromHex(record.body_hash, 32);
    if (!ok) fail(place + " 字段格式不对", place + ": a member has the wrong form");
    return entry;
  }
  /** A stored line (text without its newline): its form, entry bytes, body hash. */
  async function parseStoredLine(text, place) {
    const line = parseCanonical(text, place);
    let form;
    if (isObject(line) && "body" in line) {
      members(line, place, ["body", "entry", "salt"]);
      form = "full";
    } else if (isObject(line) && "redacted" in line) {
      members(line, place, ["entry", "redacted"]);
      form = "redacted";
    } else {
      members(line, place, ["entry", "withheld"]);
      if (line.withheld !== true) fail(place + " 格式不对", place + ".withheld must be true");
      form = "withheld";
    }
    const entry = checkEntry(line.entry, place + ".entry");
    const entryBytes = utf8.encode(jcs(entry));
    if (form === "full") {
      const salt = fromHex(line.salt, 16);
      if (!salt || !isObject(line.body)) fail(place + " 格式不对", place + ": salt or body has the wrong form");
      const hash = await sha256(salt, utf8.encode(jcs(line.body)));
      if (toHex(hash) !== entry.record.body_hash) {
        fail("正文哈希不符", place + ": the body does not hash to the record's body_hash (the body was altered)");
      }
    }
    return { line, form, entry, entryBytes, leaf: await leafHash(entryBytes) };
  }

  // ---- receipts (FORMAT.md section 14) -----------------------------------------------------
  function parseBundle(text) {
    const split = typeof text === "string" ? text.indexOf("\n\n") : -1;
    if (split < 0) fail("证明格式不对", "the proof is not a c2sp.org/tlog-proof@v1 bundle");
    const head = text.slice(0, split).split("\n");
    if (head[0] !== "c2sp.org/tlog-proof@v1") fail("证明格式不对", "the proof does not start with c2sp.org/tlog-proof@v1");
    let at = 1;
    if (head[at] && head[at].startsWith("extra ")) at++;
    const index = head[at] && head[at].startsWith("index ") ? decimal(head[at].slice(6)) : null;
    if (index === null) fail("证明格式不对", "the proof has no `index N` line");
    const hashes = head.slice(at + 1).map((h) => {
      const bytes = fromBase64(h);
      if (!bytes || bytes.length !== 32) fail("证明格式不对", "a proof line is not a base64 SHA-256 hash");
      return bytes;
    });
    return { index, hashes, checkpoint: text.slice(split + 2) };
  }
  async function checkReceipt(receipt, key, place) {
    members(receipt, place, ["entry", "entry_hash", "proof", "seq"]);
    if (!Number.isSafeInteger(receipt.seq) || receipt.seq < 0) fail(place + " 格式不对", place + ".seq must be a non-negative integer");
    const entry = checkEntry(receipt.entry, place + ".entry");
    const leaf = await leafHash(utf8.encode(jcs(entry)));
    if (toHex(leaf) !== receipt.entry_hash) {
      fail("条目哈希不符", place + ": the entry hashes to " + toHex(leaf) + ", not to its entry_hash: the receipt was altered");
    }
    if (entry.seq !== receipt.seq) fail("序号不符", place + ": the receipt is for seq " + receipt.seq + " but its entry is seq " + entry.seq);
    const bundle = parseBundle(receipt.proof);
    if (bundle.index !== BigInt(receipt.seq)) fail("证明序号不符", place + ": the proof is for index " + bundle.index + ", not for seq " + receipt.seq);
    const checkpoint = await openCheckpoint(bundle.checkpoint, key);
    if (!(await inclusionOk(receipt.seq, checkpoint.size, leaf, bundle.hashes, checkpoint.root))) {
      fail("包含证明无效", place + ": entry " + receipt.seq + " is not in the tree of size " + checkpoint.size + " the checkpoint signs");
    }
    return { seq: receipt.seq, kind: entry.record.kind, size: checkpoint.size };
  }
  async function checkReceiptFile(text, key) {
    let lines = text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "");
    let items = lines.map((l, i) => {
      try {
        return [JSON.parse(l), "第 " + (i + 1) + " 行 line " + (i + 1)];
      } catch (_) {
        fail("回执不是 JSON", "line " + (i + 1) + " of the receipt file is not JSON");
      }
    });
    if (items.length === 1 && isObject(items[0][0]) && Array.isArray(items[0][0].receipts)) {
      items = items[0][0].receipts.map((r, i) => [r, "receipts[" + i + "]"]);
    }
    if (items.length === 0) fail("文件中没有回执", "the file holds no receipt");
    const done = [];
    for (const [receipt, place] of items) done.push(await checkReceipt(receipt, key, place));
    const seqs = done.map((d) => d.seq + " (" + d.kind + ")").join(", ");
    return "回执 " + done.length + " 份，条目 " + seqs + " 已包含在日志密钥签名的检查点中 — " + done.length +
      " receipt(s): entries " + seqs + " are included in checkpoints signed by " + key.identity;
  }

  // ---- disclosure packages v2 (PRIVACY.md, "Disclosure package format") ---------------------
  function requiredRole(kind) {
    if (kind.startsWith("ledger.") || kind.startsWith("key.")) return "admin";
    if (kind.startsWith("audit.")) return "auditor";
    return "officer";
  }
  async function registryKey(vkey, place) {
    try {
      return await parseVkey(vkey);
    } catch (e) {
      fail(place + " 密钥无效", place + ": " + e.message);
    }
  }
  async function checkDisclosure(text, key) {
    if (!text.endsWith("\n")) fail("公开包格式不对", "a disclosure package ends with a newline");
    const pkg = parseCanonical(text.slice(0, -1), "package");
    if (isObject(pkg) && pkg.format === "lianlog-disclosure/v1") {
      fail("旧版公开包", "a version 1 package: check it with `lianlog check disclosure`, and ask for a new one");
    }
    members(pkg, "package", ["checkpoint", "format", "keys", "origin", "person", "records", "signature", "signer", "withheld"]);
    if (pkg.format !== "lianlog-disclosure/v2") fail("公开包格式不对", "format is not lianlog-disclosure/v2");
    const checkpoint = await openCheckpoint(String(pkg.checkpoint), key);
    if (checkpoint.origin !== pkg.origin) fail("来源不符", "the checkpoint is for " + checkpoint.origin + ", the package says " + pkg.origin);
    const items = [];
    for (const section of ["keys", "records"]) {
      if (!Array.isArray(pkg[section])) fail("公开包格式不对", section + " must be a list");
      let previous = -1;
      for (const [i, raw] of pkg[section].entries()) {
        const place = section + "[" + i + "]";
        const isRecord = section === "records";
        members(raw, place, isRecord ? ["line", "proof"] : ["line", "proof", "reduced"], isRecord ? ["masked"] : []);
        const parsed = await parseStoredLine(jcs(raw.line), place + ".line");
        const seq = parsed.entry.seq;
        if (seq <= previous) fail("序号顺序不对", place + ": lines must be in increasing seq order");
        previous = seq;
        const proof = Array.isArray(raw.proof) ? raw.proof.map((h) => fromHex(h, 32)) : [null];
        if (proof.some((h) => !h)) fail("证明格式不对", place + ".proof: hashes must be 64 lowercase hex digits");
        if (!(await inclusionOk(seq, checkpoint.size, parsed.leaf, proof, checkpoint.root))) {
          fail("包含证明无效", place + ": seq " + seq + " is not in the tree the checkpoint signs (the line or its proof was altered)");
        }
        const withheld = parsed.form === "withheld";
        if (isRecord && withheld !== isObject(raw.masked)) {
          fail("遮蔽记录格式不对", place + ": a masked record is a withheld line with a masked body object, and only it");
        }
        if (!isRecord && !withheld) fail("密钥行格式不对", place + ": key lines are carried withheld, with reduced bodies");
        items.push({ isRecord, parsed, seq, reduced: raw.reduced, place });
      }
    }
    items.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < items.length; i++) {
      if (items[i].seq === items[i - 1].seq) fail("序号重复", "seq " + items[i].seq + " is both a key line and a record");
    }
    // The registry walk (FORMAT.md section 7), from the reduced key bodies.
    const registry = new Map();
    for (const item of items) {
      const { entry } = item.parsed;
      const record = entry.record;
      let author;
      if (item.seq === 0) {
        const body = item.reduced;
        if (item.isRecord || record.kind !== "ledger.genesis" || !isObject(body)) fail("缺少创世行", "the genesis line (seq 0) must come first, in keys");
        members(body, "keys[0].reduced", ["admins", "log_key", "origin"]);
        if (body.log_key !== key.vkey) fail("创世日志密钥不符", "genesis names log key " + body.log_key + ", not the pinned " + key.vkey);
        if (body.origin !== pkg.origin || record.ledger !== pkg.origin) fail("来源不符", "the genesis is of another ledger");
        if (!Array.isArray(body.admins) || body.admins.length === 0) fail("创世格式不对", "genesis names no admin");
        for (const admin of body.admins) {
          const k = await registryKey(members(admin, "admins[]", ["key"]).key, "genesis admin");
          registry.set(k.identity, { key: k, roles: ["admin"], granted: 0, revoked: null });
        }
        author = registry.get(record.author);
        if (!author) fail("创世作者不是管理员", "the genesis author is not one of its admins");
      } else {
        if (registry.size === 0) fail("缺少创世行", "the genesis line (seq 0) must come first");
        author = registry.get(record.author);
        const role = requiredRole(record.kind);
        if (record.ledger !== pkg.origin || !author || author.granted >= item.seq ||
            (author.revoked !== null && author.revoked < item.seq) || !author.roles.includes(role)) {
          fail("作者无权签署", "seq " + item.seq + ": " + record.author + " was not authorized (role " + role + ") to sign " + record.kind);
        }
      }
      if (!(await signatureValueOk(author.key, entry.sig, utf8.encode(jcs(record) + "\n")))) {
        fail("记录签名无效", "seq " + item.seq + ": the record signature does not verify with " + record.author);
      }
      if (!item.isRecord && item.seq !== 0) {
        const body = item.reduced;
        if (record.kind === "key.grant") {
          members(body, item.place + ".reduced", ["key", "roles"]);
          const k = await registryKey(body.key, item.place);
          const roles = Array.isArray(body.roles) ? body.roles : [];
          if (registry.has(k.identity) || roles.length === 0 || roles.some((r) => !["admin", "officer", "auditor"].includes(r))) {
            fail("授权格式不对", item.place + ": a key is granted once, with roles admin, officer or auditor");
          }
          registry.set(k.identity, { key: k, roles, granted: item.seq, revoked: null });
        } else if (record.kind === "key.revoke") {
          members(body, item.place + ".reduced", ["key"]);
          const state = registry.get(body.key);
          if (!state || state.revoked !== null) fail("撤销格式不对", item.place + ": revokes a key not granted, or twice");
          state.revoked = item.seq;
        } else fail("密钥行格式不对", item.place + ": seq " + item.seq + " is a " + record.kind + " record, not a key-registry line");
      }
    }
    // The issuer: an officer or admin of that registry, not revoked; its signature over the rest.
    const signer = registry.get(pkg.signer);
    if (!signer || signer.revoked !== null || !signer.roles.some((r) => r === "officer" || r === "admin")) {
      fail("签发人无权", "the signer " + pkg.signer + " is not an officer or admin of the ledger, or was revoked");
    }
    const unsigned = Object.assign({}, pkg);
    delete unsigned.signature;
    if (!(await signatureValueOk(signer.key, pkg.signature, utf8.encode("lianlog-disclosure/v2\n" + jcs(unsigned))))) {
      fail("签发人签名无效", "the package signature by " + pkg.signer + " does not verify: the package was altered");
    }
    const recordSeqs = new Set(items.filter((i) => i.isRecord).map((i) => i.seq));
    let previous = -1;
    for (const w of Array.isArray(pkg.withheld) ? pkg.withheld : [null]) {
      members(w, "withheld[]", ["seq", "why"]);
      if (!Number.isSafeInteger(w.seq) || w.seq <= previous || BigInt(w.seq) >= checkpoint.size || recordSeqs.has(w.seq)) {
        fail("扣留列表不对", "withheld: seqs must increase, lie below the checkpoint's size and not be records of the package");
      }
      previous = w.seq;
    }
    const records = items.filter((i) => i.isRecord);
    const masked = records.filter((i) => i.parsed.form === "withheld").length;
    return "公开包：人员 " + pkg.person + "，记录 " + records.length + " 条（其中遮蔽 " + masked + " 条），签发人 " + pkg.signer +
      "；全部条目已包含在日志密钥签名的检查点（大小 " + checkpoint.size + "）中，签名均有效。“是否与本人有关”的规则请用 lianlog check disclosure 核对 — " +
      "disclosure package for " + pkg.person + ": " + records.length + " records (" + masked + " masked), issued by " + pkg.signer +
      "; every entry is in the checkpoint of size " + checkpoint.size + " and every signature verifies. " +
      "The rule that each record concerns the person is checked by `lianlog check disclosure`.";
  }

  // ---- what a file is ----------------------------------------------------------------------
  async function checkFile(bytes, key) {
    let text;
    try {
      text = strictUtf8.decode(bytes);
    } catch (_) {
      fail("文件不是 UTF-8 文本", "the file is not UTF-8 text");
    }
    if (text.startsWith("\ufeff")) text = text.slice(1);
    const first = text.trimStart();
    if (first.startsWith('{"checkpoint"') || first.startsWith('{"format"')) return checkDisclosure(text, key);
    if (first.startsWith("{")) return checkReceiptFile(text, key);
    const cp = await openCheckpoint(text, key);
    return "检查点：日志 " + cp.origin + "，大小 " + cp.size + "，根哈希 " + toHex(cp.root) + "，日志密钥签名有效" +
      (cp.cosignatures ? "（另有 " + cp.cosignatures + " 个其他签名未核验）" : "") + " — checkpoint of " + cp.origin + ", size " +
      cp.size + ", root " + toHex(cp.root) + ": the log key's signature verifies" +
      (cp.cosignatures ? " (" + cp.cosignatures + " other signature line(s) not checked)" : "");
  }

  // ---- the pinned key and showing results --------------------------------------------------
  function pageKey() {
    const meta = document.querySelector('meta[name="lianlog-log-vkey"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function storedPin() {
    try {
      return localStorage.getItem(PIN) || "";
    } catch (_) {
      return "";
    }
  }
  /** The key to check against, and a warning when it is only the server's word. */
  async function trustedKey(typed) {
    const pinned = (typed !== undefined ? typed : storedPin()).trim();
    if (pinned) return { key: await parseVkey(pinned), note: "" };
    const served = pageKey();
    if (!served) fail("没有日志公钥", "no log key: paste the log's vkey on the check page (核验) to pin it");
    return {
      key: await parseVkey(served),
      note: "注意：未固定日志公钥，使用的是服务器页面提供的公钥，这等于信任服务器 — warning: no pinned log key; " +
        "the key the server's page names was used, which trusts the server. Pin the key you got from the commission on the check page (核验).",
    };
  }
  /** Show a result: the verdict in bold, the details, and a warning line when there is one. */
  function show(output, status, verdict, text = "", warning = "") {
    output.dataset.status = status;
    output.className = "verify-" + status;
    const strong = document.createElement("strong");
    strong.textContent = verdict;
    const parts = [strong, document.createTextNode(text ? " " + text : "")];
    if (warning) {
      const line = document.createElement("span");
      line.className = "verify-warning";
      line.textContent = warning;
      parts.push(document.createElement("br"), line);
    }
    output.replaceChildren(...parts);
  }
  async function run(output, work) {
    show(output, "running", "核验中… Verifying…");
    try {
      if (!window.crypto || !crypto.subtle) {
        fail("浏览器无法核验", "WebCrypto is unavailable: open the page over HTTPS (or on localhost)");
      }
      const { text, note } = await work();
      // Checked only under the key the server's own page names: that proves nothing against the
      // server, so it is never shown as 核验通过.
      if (note) show(output, "warning", "未核验：未固定日志公钥 Not verified against a pinned log key:", text, note);
      else show(output, "pass", "核验通过 Verified:", text);
    } catch (e) {
      show(output, "fail", "核验失败 Verification failed:", e instanceof CheckError ? e.message : "unexpected error " + e);
    }
  }

  async function fetchBytes(url) {
    const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) fail("无法读取 " + url, "could not fetch " + url + ": HTTP " + answer.status);
    return new Uint8Array(await answer.arrayBuffer());
  }
  async function fetchText(url) {
    return strictUtf8.decode(await fetchBytes(url));
  }

  // ---- an inclusion proof from the public hash tiles (FORMAT.md section 15) ----------------
  /** `tile/<L>/<N>[.p/<W>]`: N in 3-digit groups, all but the last prefixed `x`. */
  function tilePath(level, index, width) {
    let digits = String(index);
    digits = digits.padStart(Math.ceil(digits.length / 3) * 3, "0");
    const groups = digits.match(/.../g).map((g, i, all) => (i < all.length - 1 ? "x" + g : g));
    return "/tile/" + level + "/" + groups.join("/") + (width < 256 ? ".p/" + width : "");
  }
  /**
   * The RFC 6962 audit path of entry `seq` in the tree of `size` entries, computed here from the
   * hash tiles anyone may read: whatever the tiles hold, a wrong hash only makes the proof fail
   * against the signed root, so the tiles need no trust.
   */
  async function proofFromTiles(seq, size) {
    const tiles = new Map();
    async function tile(level, index) {
      const width = Math.min(256, Math.floor(size / 256 ** level) - index * 256);
      const path = tilePath(level, index, width);
      if (!tiles.has(path)) tiles.set(path, fetchBytes(path));
      const bytes = await tiles.get(path);
      if (bytes.length !== 32 * width) fail("哈希瓦片长度不对", path + " is not " + width + " hashes");
      return bytes;
    }
    // The hash of the complete subtree of 2^height entries starting at index * 2^height.
    async function complete(height, index) {
      const level = Math.floor(height / 8);
      const count = 2 ** (height - 8 * level);
      const first = index * count;
      const bytes = await tile(level, Math.floor(first / 256));
      const at = first % 256;
      let hashes = [];
      for (let i = 0; i < count; i++) hashes.push(bytes.slice((at + i) * 32, (at + i + 1) * 32));
      while (hashes.length > 1) {
        const up = [];
        for (let i = 0; i < hashes.length; i += 2) up.push(await nodeHash(hashes[i], hashes[i + 1]));
        hashes = up;
      }
      return hashes[0];
    }
    const split = (n) => {
      let k = 1;
      while (k * 2 < n) k *= 2;
      return k;
    };
    async function mth(a, b) {
      const n = b - a;
      const height = Math.log2(n);
      if (Number.isInteger(height) && a % n === 0) return complete(height, a / n);
      const k = split(n);
      return nodeHash(await mth(a, a + k), await mth(a + k, b));
    }
    async function path(m, a, b) {
      if (b - a === 1) return [];
      const k = split(b - a);
      if (m < a + k) return [...(await path(m, a, a + k)), await mth(a + k, b)];
      return [...(await path(m, a + k, b)), await mth(a, a + k)];
    }
    return path(seq, 0, size);
  }

  /** The record page: the stored line, its inclusion proof, the checkpoint, the pinned key. */
  async function verifyRecord(section) {
    const { key, note } = await trustedKey();
    const seq = Number(section.dataset.seq);
    const lineText = (await fetchText(section.dataset.entryUrl)).replace(/\n$/, "");
    const line = await parseStoredLine(lineText, "entry " + seq);
    if (line.entry.seq !== seq) fail("序号不符", "the server sent entry " + line.entry.seq + " for seq " + seq);
    // What is verified must be what the page shows: the entry hash the page names must be the
    // leaf hash of the line checked here (it commits to the kind, author, signature and body hash).
    const shownHash = section.dataset.entryHash;
    if (shownHash !== undefined && shownHash !== toHex(line.leaf)) {
      fail("页面与条目不符", "the page shows entry hash " + shownHash + ", but the entry the server sent for seq " + seq +
        " hashes to " + toHex(line.leaf) + ": the page does not show the entry that was verified");
    }
    if (section.dataset.kind !== undefined && section.dataset.kind !== line.entry.record.kind) {
      fail("页面与条目不符", "the page shows kind " + section.dataset.kind + ", the entry is " + line.entry.record.kind);
    }
    if (line.entry.record.ledger !== key.name) fail("不属于此账本", "the record is bound to " + line.entry.record.ledger + ", not to " + key.name);
    // The served checkpoint when it covers the entry; else the one the proof answer brings.
    let checkpoint = await openCheckpoint(await fetchText(section.dataset.checkpointUrl), key);
    let url = section.dataset.proofUrl;
    if (checkpoint.size > BigInt(seq)) url += "&size=" + checkpoint.size;
    const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    let path;
    let how = "";
    if (answer.ok) {
      const proof = JSON.parse(strictUtf8.decode(new Uint8Array(await answer.arrayBuffer())));
      if (checkpoint.size <= BigInt(seq)) checkpoint = await openCheckpoint(String(proof.checkpoint), key);
      path = Array.isArray(proof.hashes) ? proof.hashes.map((h) => fromHex(h, 32)) : [null];
      if (path.some((h) => !h)) fail("证明格式不对", "the proof's hashes are not 64 lowercase hex digits");
    } else if (checkpoint.size > BigInt(seq) && checkpoint.size <= BigInt(Number.MAX_SAFE_INTEGER)) {
      // The proof service is not open to this session: compute the path from the public tiles.
      path = await proofFromTiles(seq, Number(checkpoint.size));
      how = "（证明由公开哈希瓦片计算 proof computed from the public hash tiles）";
    } else fail("无法读取 " + url, "could not fetch " + url + ": HTTP " + answer.status);
    if (!(await inclusionOk(seq, checkpoint.size, line.leaf, path, checkpoint.root))) {
      fail("包含证明无效", "entry " + seq + " (leaf hash " + toHex(line.leaf) + ") is not in the tree of size " + checkpoint.size + " that the checkpoint signs");
    }
    return {
      text: "条目 " + seq + " 的叶哈希 " + toHex(line.leaf) + " 包含在日志 " + key.name + " 大小为 " + checkpoint.size +
        " 的检查点中，检查点签名有效" + how + " — entry " + seq + " (leaf hash " + toHex(line.leaf) + ") is included in the checkpoint of size " +
        checkpoint.size + " signed by " + key.identity + ". The record's author signature is checked by `lianlog verify`; only a checkpoint " +
        "cosigned by witnesses you trust (`lianlog verify --witness`) also rules out a history shown to you alone.",
      note,
    };
  }

  function init() {
    const section = document.getElementById("verify");
    const button = document.getElementById("verify-button");
    const output = document.getElementById("verify-result");
    if (section && button && output) {
      button.addEventListener("click", () => run(output, () => verifyRecord(section)));
    }
    const file = document.getElementById("check-file");
    const keyBox = document.getElementById("check-key");
    const result = document.getElementById("check-result");
    if (file && result) {
      if (keyBox && !keyBox.value.trim()) keyBox.value = storedPin();
      const pin = () => {
        if (!keyBox) return;
        try {
          if (keyBox.value.trim()) localStorage.setItem(PIN, keyBox.value.trim());
          else localStorage.removeItem(PIN);
        } catch (_) {
          /* storage unavailable: the key still applies to this page */
        }
      };
      if (keyBox) keyBox.addEventListener("change", pin);
      const check = () => {
        const chosen = file.files && file.files[0];
        if (!chosen) return;
        pin();
        run(result, async () => {
          const { key, note } = await trustedKey(keyBox ? keyBox.value : undefined);
          return { text: await checkFile(new Uint8Array(await chosen.arrayBuffer()), key), note };
        });
      };
      file.addEventListener("change", check);
      // A file dropped anywhere on the page is checked like a chosen one.
      document.addEventListener("dragover", (e) => e.preventDefault());
      document.addEventListener("drop", (e) => {
        e.preventDefault();
        if (e.dataTransfer && e.dataTransfer.files.length) {
          file.files = e.dataTransfer.files;
          check();
        }
      });
    }
  }
  // For tests and the curious: the checks without the page (window.lianlogVerify).
  window.lianlogVerify = { checkFile: (bytes, vkey) => parseVkey(vkey).then((k) => checkFile(bytes, k)), proofFromTiles };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
