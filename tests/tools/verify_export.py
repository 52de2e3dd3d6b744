#!/usr/bin/env python3
"""Independent verifier for lianlog format-v1 exports.

Written from the contract (format-v1.md) alone, with no lianlog code: Python stdlib + `cryptography`.

  verify_export.py EXPORT.jsonl [--checkpoint FILE] [--log-vkey VKEY]
  verify_export.py --self-test

Exit 0 and `ok: N entries, head <hex>, root <hex>` on success; exit 1 and the first failure as
`FAIL seq S: ...` (S = 0-based position = the seq the line must carry), `FAIL line L: ...` (1-based
line number, for lines that are not even JSON) or `FAIL checkpoint: ...`; exit 2 on usage errors.
Streams the export: it keeps the key registry, pending redactions and a Merkle compact range. If a
`ledger.redact` targets a line that is not a redacted line naming it (e.g. a withheld one), the
export is read a second time to check that target's entry hash and form.
"""
import argparse, base64, datetime, hashlib, json, os, re, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class Fail(Exception):
    def __init__(self, where, reason):
        super().__init__(f'{where}: {reason}')
        self.where, self.reason = where, reason


def need(cond, where, reason):
    if not cond:
        raise Fail(where, reason)


def sha256(b):
    return hashlib.sha256(b).digest()


# ---- section 2: restricted JCS -------------------------------------------------------------
MAX_INT = 2**53 - 1
_ESC = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r'}
_ESC_RE = re.compile('[\x00-\x1f"\\\\]')  # only these are escaped: not U+007F, not U+2028


def jcs(v):
    """Canonical text of a JSON value; raises ValueError for anything outside section 2."""
    t = type(v)
    if v is None:
        return 'null'
    if t is bool:
        return 'true' if v else 'false'
    if t is int:
        if abs(v) > MAX_INT:
            raise ValueError('integer out of range')
        return str(v)
    if t is str:
        return '"' + _ESC_RE.sub(lambda m: _ESC.get(m.group()) or '\\u%04x' % ord(m.group()), v) + '"'
    if t is list:
        return '[' + ','.join(jcs(x) for x in v) + ']'
    if t is dict:
        if not all(k.isascii() for k in v):
            raise ValueError('non-ASCII object key')
        return '{' + ','.join(jcs(k) + ':' + jcs(v[k]) for k in sorted(v)) + '}'
    raise ValueError(f'{t.__name__} is not allowed in canonical JSON')


def jcs_bytes(v):
    return jcs(v).encode('utf-8')  # UnicodeEncodeError (a ValueError) on lone surrogates


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f'duplicate key {k!r}')
        d[k] = v
    return d


def _no_number(s):
    raise ValueError(f'number {s} is not an integer')


def _int(s):
    if abs(int(s)) > MAX_INT:
        raise ValueError(f'integer {s[:30]} out of range')
    return int(s)


def loads(text):
    return json.loads(text, object_pairs_hook=_pairs, parse_float=_no_number,
                      parse_int=_int, parse_constant=_no_number)


# ---- formats, keys and strict Ed25519 ------------------------------------------------------
HEX64, HEX32, HEX8 = re.compile('[0-9a-f]{64}'), re.compile('[0-9a-f]{32}'), re.compile('[0-9a-f]{8}')
TIME_RE = re.compile(r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z')
KIND_RE = re.compile(r'[a-z0-9_-]+(\.[a-z0-9_-]+)*')
NAME = '[\x21-\x2a\x2c-\x7e]{1,128}'  # printable ASCII, no space, no '+'
NAME_RE, IDENT_RE = re.compile(NAME), re.compile(f'({NAME})\\+([0-9a-f]{{8}})')
ZERO = '0' * 64
ROLES = ('admin', 'officer', 'auditor')
P, L = 2**255 - 19, 2**252 + 27742317777372353535851937790883648493
_Y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022
SMALL_ORDER_Y = {0, 1, P - 1, _Y8, P - _Y8}  # y of the 8 small-order points (y=±1: x=0)


def is_time(s):
    if type(s) is not str or not TIME_RE.fullmatch(s):
        return False
    try:
        datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ')
        return True
    except ValueError:
        return False


def b64dec(s, n):
    """Strict standard padded base64 of exactly n bytes."""
    if type(s) is not str:
        raise ValueError('base64 value is not a string')
    b = base64.b64decode(s, validate=True)
    if base64.b64encode(b).decode() != s or len(b) != n:
        raise ValueError(f'not canonical base64 of {n} bytes')
    return b


def key_id(name, pub):
    return sha256(name.encode() + b'\n\x01' + pub)[:4]


def point_ok(b):
    """Canonical encoding (y < p) of a point that is not of small order."""
    y = int.from_bytes(b, 'little') & ((1 << 255) - 1)
    return len(b) == 32 and y < P and y not in SMALL_ORDER_Y


def ed_verify(pub, msg, sig):
    """Strict Ed25519: OpenSSL checks the equation and S < L; we add S < L and A, R checks."""
    if len(sig) != 64 or not point_ok(pub) or not point_ok(sig[:32]):
        return False
    if int.from_bytes(sig[32:], 'little') >= L:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


class Key:
    def __init__(self, vkey):
        """Parse a verifier key string `name+HEXID+BASE64(0x01||pub)` (section 3)."""
        parts = vkey.split('+', 2) if type(vkey) is str else []
        if len(parts) != 3 or not NAME_RE.fullmatch(parts[0]) or not HEX8.fullmatch(parts[1]):
            raise ValueError(f'malformed vkey {vkey!r}')
        raw = b64dec(parts[2], 33)
        if raw[0] != 1:
            raise ValueError('vkey is not an Ed25519 key')
        self.name, self.pub, self.kid = parts[0], raw[1:], bytes.fromhex(parts[1])
        if not point_ok(self.pub):
            raise ValueError(f'vkey {vkey!r} is a small-order or non-canonical point')
        if key_id(self.name, self.pub) != self.kid:
            raise ValueError(f'vkey {vkey!r}: key id does not match the key')
        self.identity = f'{self.name}+{parts[1]}'
        self.roles, self.revoked = set(), None


# ---- section 7: RFC 6962 Merkle tree -------------------------------------------------------
def node(l, r):
    return sha256(b'\x01' + l + r)


class CompactRange:
    """Roots of the perfect subtrees covering leaves 0..n-1, largest first."""
    def __init__(self):
        self.n, self.stack = 0, []

    def append(self, leaf):
        self.stack.append(leaf)
        self.n += 1
        m = self.n
        while m & 1 == 0:  # merge equal-sized subtrees
            r = self.stack.pop()
            self.stack.append(node(self.stack.pop(), r))
            m >>= 1

    def root(self):
        if not self.stack:
            return sha256(b'')
        h = self.stack[-1]
        for s in reversed(self.stack[:-1]):
            h = node(s, h)
        return h


# ---- section 8: checkpoint -----------------------------------------------------------------
def parse_checkpoint(data):
    W = 'checkpoint'
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise Fail(W, 'not UTF-8')
    head, sep, sigs = text.partition('\n\n')
    lines = head.split('\n')
    need(sep and len(lines) == 3, W, 'text must be exactly origin, size, root, then a blank line')
    need(re.fullmatch('0|[1-9][0-9]*', lines[1]), W, 'size is not a decimal number')
    try:
        root = b64dec(lines[2], 32)
    except ValueError as e:
        raise Fail(W, f'root: {e}')
    need(sigs.endswith('\n'), W, 'signature lines must end with a newline')
    m = re.fullmatch('\u2014 (\\S+) (\\S+)', sigs[:-1].split('\n')[0])
    need(m, W, 'malformed first signature line')
    try:
        sig = b64dec(m.group(2), 68)
    except ValueError as e:
        raise Fail(W, f'first signature: {e}')
    return dict(text=(head + '\n').encode(), origin=lines[0], size=int(lines[1]), root=root,
                name=m.group(1), sig=sig)


# ---- sections 4-6, 9: the ledger -----------------------------------------------------------
def check_holder(h, w):
    need(type(h) is dict and set(h) in ({'name', 'unit'}, {'name', 'unit', 'title'})
         and all(type(x) is str for x in h.values()), w, 'holder must be {name, unit[, title]} strings')


class Verifier:
    def __init__(self, log_vkey=None):
        self.log_vkey, self.log, self.origin = log_vkey, None, None
        self.keys = {}        # identity -> Key
        self.pending = {}     # seq of redacted line -> (seq of redaction it names, its entry hash)
        self.unmatched = []   # (target seq, target entry hash, redaction seq) to check in pass 2
        self.tree, self.head, self.time = CompactRange(), ZERO, ''

    def line(self, i, raw):
        w = f'seq {i}'
        if not raw.endswith(b'\n'):
            raise Fail(f'line {i + 1}', 'line does not end with a newline')
        try:
            obj = loads(raw[:-1].decode('utf-8'))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Fail(f'line {i + 1}', f'not a UTF-8 JSON line: {e}')
        except (ValueError, RecursionError) as e:
            raise Fail(w, f'not canonical JSON: {e}')
        try:
            need(jcs_bytes(obj) == raw[:-1], w, 'line is not canonical JCS')
            self.entry(i, w, obj)
        except ValueError as e:  # from Key(), b64dec(), jcs()
            raise Fail(w, str(e))

    def entry(self, i, w, obj):
        forms = {('body', 'entry', 'salt'): 'full', ('entry', 'redacted'): 'redacted',
                 ('entry', 'withheld'): 'withheld'}
        form = forms.get(tuple(sorted(obj)) if type(obj) is dict else ())
        need(form, w, 'line is not a full, redacted or withheld line')
        e = obj['entry']
        need(type(e) is dict and sorted(e) == ['prev', 'record', 'seq', 'sig', 'time'], w,
             'entry members must be exactly seq, prev, time, record, sig')
        need(type(e['seq']) is int and e['seq'] == i, w,
             f'entry seq is {e["seq"]!r}, expected {i} (entries missing, duplicated or reordered)')
        need(e['prev'] == self.head, w, 'prev is not the entry hash of the previous entry')
        need(is_time(e['time']), w, 'time is not a real YYYY-MM-DDTHH:MM:SS.sssZ timestamp')
        need(e['time'] >= self.time, w, 'time is earlier than the previous entry\'s')
        r = e['record']
        need(type(r) is dict and sorted(r) == ['author', 'body_hash', 'created', 'kind', 'ledger', 'v'],
             w, 'record members must be exactly v, ledger, kind, author, created, body_hash')
        need(type(r['v']) is int and r['v'] >= 1, w, 'v must be an integer >= 1')
        need(type(r['kind']) is str and KIND_RE.fullmatch(r['kind']), w, 'kind is not a lowercase dotted name')
        need(type(r['author']) is str and IDENT_RE.fullmatch(r['author']), w, 'author is not a name+HEXID identity')
        need(is_time(r['created']), w, 'created is not a real YYYY-MM-DDTHH:MM:SS.sssZ timestamp')
        need(type(r['body_hash']) is str and HEX64.fullmatch(r['body_hash']), w, 'body_hash is not 64 lowercase hex')
        kind, author = r['kind'], r['author']
        protected = kind.startswith(('ledger.', 'key.'))
        body = obj.get('body')

        # section 6: line form
        if form == 'full':
            need(type(obj['salt']) is str and HEX32.fullmatch(obj['salt']), w, 'salt is not 32 lowercase hex')
            need(type(body) is dict, w, 'body is not a JSON object')
            need(hashlib.sha256(bytes.fromhex(obj['salt']) + jcs_bytes(body)).hexdigest() == r['body_hash'],
                 w, 'SHA-256(salt || JCS(body)) does not equal record.body_hash')
        else:
            need(not protected, w, f'the body of a {kind} record must never be redacted or withheld')
            if form == 'redacted':
                need(type(obj['redacted']) is int and obj['redacted'] > i, w,
                     'redacted must be the seq of a later ledger.redact entry')
            else:
                need(obj['withheld'] is True, w, 'withheld must be true')

        # section 9: genesis defines the origin, the log key and the first admins
        if i == 0:
            need(kind == 'ledger.genesis' and r['v'] == 1, w, 'entry 0 must be ledger.genesis, v 1')
            self.genesis(body, w)
        else:
            need(kind != 'ledger.genesis', w, 'ledger.genesis is allowed only at seq 0')
        need(r['ledger'] == self.origin, w, f'record ledger {r["ledger"]!r} is not this ledger\'s origin')

        # section 4: record signature by the author's key
        sig = b64dec(e['sig'], 68)
        need(sig[:4].hex() == author[-8:], w, 'signature key id does not match the author')
        k = self.keys.get(author)
        need(k, w, f'author {author} holds no key granted in this ledger')
        need(ed_verify(k.pub, jcs_bytes(r) + b'\n', sig[4:]), w, 'record signature does not verify')

        # section 9: authorization (grants/revocations so far all have a smaller seq)
        role = 'admin' if protected else 'auditor' if kind.startswith('audit.') else 'officer'
        need(k.revoked is None, w, f'author {author} was revoked at seq {k.revoked}')
        need(role in k.roles, w, f'author {author} lacks role {role} needed for kind {kind}')
        if kind in ('key.grant', 'key.revoke', 'ledger.redact'):
            need(r['v'] == 1, w, f'{kind} must have v 1')
            getattr(self, kind.split('.')[1])(body, i, w)
        for t, (rs, _) in list(self.pending.items()):
            need(rs != i, f'seq {t}', f'redacted line names entry {i}, which does not redact it')

        eh = sha256(b'\x00' + jcs_bytes(e))
        if form == 'redacted':
            self.pending[i] = (obj['redacted'], eh.hex())
        self.tree.append(eh)
        self.head, self.time = eh.hex(), e['time']

    def genesis(self, b, w):
        need(type(b) is dict and sorted(b) == ['admins', 'log_key', 'origin'], w,
             'genesis body must be exactly {origin, log_key, admins}')
        need(type(b['origin']) is str and NAME_RE.fullmatch(b['origin']), w, 'origin is not a valid key name')
        self.origin, self.log = b['origin'], Key(b['log_key'])
        need(self.log.name == self.origin, w, 'the log key\'s name must equal the origin')
        need(self.log_vkey is None or self.log_vkey == b['log_key'], w, 'genesis log_key differs from --log-vkey')
        need(type(b['admins']) is list and b['admins'], w, 'genesis needs at least one admin')
        for a in b['admins']:
            need(type(a) is dict and sorted(a) == ['holder', 'key'], w, 'admin must be exactly {key, holder}')
            check_holder(a['holder'], w)
            self.add_key(a['key'], ['admin'], w)

    def add_key(self, vkey, roles, w):
        k = Key(vkey)
        need(k.identity != self.log.identity, w, 'the log key signs nothing but checkpoints')
        need(k.identity not in self.keys, w, f'key identity {k.identity} is granted more than once')
        k.roles = set(roles)
        self.keys[k.identity] = k

    def grant(self, b, i, w):
        need(type(b) is dict and sorted(b) == ['holder', 'key', 'roles'], w,
             'key.grant body must be exactly {key, roles, holder}')
        ro = b['roles']
        need(type(ro) is list and ro and all(x in ROLES for x in ro) and len(set(ro)) == len(ro), w,
             'roles must be a non-empty list of distinct admin/officer/auditor')
        check_holder(b['holder'], w)
        self.add_key(b['key'], ro, w)

    def revoke(self, b, i, w):
        need(type(b) is dict and sorted(b) == ['key', 'reason'] and type(b['reason']) is str, w,
             'key.revoke body must be exactly {key, reason}')
        k = self.keys.get(b['key'])
        need(k, w, f'key.revoke names an unknown key {b["key"]!r}')
        need(k.revoked is None, w, f'{b["key"]} is already revoked')
        admins = [x for x in self.keys.values() if 'admin' in x.roles and x.revoked is None]
        need(admins != [k], w, 'the last active admin cannot be revoked')
        k.revoked = i

    def redact(self, b, i, w):
        need(type(b) is dict and sorted(b) in (['reason', 'target'], ['reason', 'replacement', 'target'])
             and type(b['reason']) is str and type(b.get('replacement', {})) is dict, w,
             'ledger.redact body must be {target, reason[, replacement object]}')
        t = b['target']
        need(type(t) is dict and sorted(t) == ['entry_hash', 'seq'] and type(t['seq']) is int
             and 0 <= t['seq'] < i and type(t['entry_hash']) is str and HEX64.fullmatch(t['entry_hash']),
             w, 'target must be {seq < this seq, entry_hash}')
        p = self.pending.get(t['seq'])
        if p and p[0] == i:
            need(p[1] == t['entry_hash'], w, f'target entry_hash is not the hash of entry {t["seq"]}')
            del self.pending[t['seq']]
        else:
            self.unmatched.append((t['seq'], t['entry_hash'], i))

    def finish(self, open_lines):
        for t, (rs, _) in sorted(self.pending.items()):
            raise Fail(f'seq {t}', f'redacted line names entry {rs}, which is not in the export')
        want = {}
        for t, h, rs in self.unmatched:
            want.setdefault(t, []).append((h, rs))
        if not want:
            return
        for j, raw in enumerate(open_lines()):  # second pass, only for these targets
            for h, rs in want.get(j, ()):
                obj = json.loads(raw)  # already validated in pass 1
                need(not obj['entry']['record']['kind'].startswith(('ledger.', 'key.')), f'seq {rs}',
                     f'redacts entry {j}, a ledger.*/key.* record, which is never redacted')
                need(hashlib.sha256(b'\x00' + jcs_bytes(obj['entry'])).hexdigest() == h, f'seq {rs}',
                     f'target entry_hash is not the hash of entry {j}')
                need('body' not in obj, f'seq {j}', f'body is still present although entry {rs} redacts it')


def verify(open_lines, checkpoint=None, log_vkey=None):
    """open_lines() yields the export's lines as bytes. Returns (n, head hex, root hex)."""
    cp = parse_checkpoint(checkpoint) if checkpoint is not None else None
    v, cp_root = Verifier(log_vkey), None
    for i, raw in enumerate(open_lines()):
        if cp and cp['size'] == i:
            cp_root = v.tree.root()
        v.line(i, raw)
    n = v.tree.n
    need(n, 'line 1', 'export is empty: no genesis entry')
    v.finish(open_lines)
    if cp:
        W = 'checkpoint'
        need(cp['origin'] == v.origin, W, f'origin {cp["origin"]!r} is not the ledger origin')
        need(cp['size'] <= n, W, f'size {cp["size"]} exceeds the {n} entries in the export')
        need(cp['name'] == v.log.name and cp['sig'][:4] == v.log.kid, W, 'first signature is not by the log key')
        need(ed_verify(v.log.pub, cp['text'], cp['sig'][4:]), W, 'log key signature does not verify')
        need((cp_root or v.tree.root()) == cp['root'], W, f'root of the first {cp["size"]} entries differs')
    return n, v.head, v.tree.root().hex()


# ---- self-test -----------------------------------------------------------------------------
def verify_inclusion(index, size, leaf, proof, root):  # RFC 9162 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(n1, n2, r1, r2, proof):  # RFC 9162 2.1.4.2
    if n1 == n2:
        return not proof and r1 == r2
    if not 0 < n1 < n2 or not proof:
        return False
    if n1 & (n1 - 1) == 0:
        proof = [r1] + proof
    fn, sn = n1 - 1, n2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == r1 and sr == r2 and sn == 0


def self_test():
    vec = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'vectors')
    rd = lambda f: open(os.path.join(vec, f), 'rb').read()
    full, wb, cp = rd('ledger.jsonl').splitlines(True), rd('ledger-without-bodies.jsonl').splitlines(True), rd('checkpoint')
    steps, keys = json.loads(rd('steps.json')), json.loads(rd('keys.json'))
    tally = [0, 0]
    b64 = lambda b: base64.b64encode(b).decode()

    def check(name, ok):
        tally[0 if ok else 1] += 1
        if not ok:
            print(f'FAILED: {name}')

    def run(lines, ckpt=None, vkey=None):
        try:
            return verify(lambda: iter(lines), ckpt, vkey)
        except Fail as f:
            return f

    def expect(name, lines, where=None, part='', ckpt=None, vkey=None):
        res = run(lines, ckpt, vkey)
        ok = (type(res) is tuple) if where is None else (
            isinstance(res, Fail) and res.where == where and part in res.reason)
        check(f'{name} -> {res}', ok)

    # keys.json: vkey and identity from the seed; the PEM holds the same key
    signers = {}
    for k in keys.values():
        priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k['seed_hex']))
        pub = priv.public_key().public_bytes_raw()
        kid = key_id(k['name'], pub)
        check(f'vkey {k["name"]}', k['name'] + '+' + kid.hex() + '+' + b64(b'\x01' + pub) == k['vkey'])
        check(f'identity {k["name"]}', Key(k['vkey']).identity == k['identity'])
        pem = serialization.load_pem_private_key(k['pkcs8_pem'].encode(), None)
        check(f'pem {k["name"]}', pem.public_key().public_bytes_raw() == pub)
        signers[k['identity']] = (kid, priv)

    # (a) both exports verify against the checkpoint
    root8 = steps['roots']['8']
    for name, lines in (('ledger.jsonl', full), ('ledger-without-bodies.jsonl', wb)):
        res = run(lines, cp)
        check(f'{name} verifies: {res}', type(res) is tuple and res[0] == 8 and res[2] == root8)
        check(f'{name} with --log-vkey', type(run(lines, cp, keys['log']['vkey'])) is tuple)

    # (b) every intermediate value of steps.json
    objs, tree = [json.loads(x) for x in full], CompactRange()
    for s in steps['steps']:
        o, q = objs[s['seq']], s['seq']
        e, r = o['entry'], o['entry']['record']
        check(f'body_jcs {q}', jcs(loads(s['body_jcs'])) == s['body_jcs']
              and ('body' not in o or (jcs(o['body']) == s['body_jcs'] and o['salt'] == s['salt_hex'])))
        bh = hashlib.sha256(bytes.fromhex(s['salt_hex']) + s['body_jcs'].encode()).hexdigest()
        check(f'body_hash {q}', bh == s['body_hash'] == r['body_hash'])
        check(f'record_note_text {q}', jcs(r) + '\n' == s['record_note_text'])
        kid, priv = signers[r['author']]
        check(f'sig {q}', b64(kid + priv.sign(s['record_note_text'].encode())) == s['sig'] == e['sig'])
        check(f'entry_bytes {q}', jcs(e) == s['entry_bytes'])
        check(f'entry_hash {q}', hashlib.sha256(b'\0' + s['entry_bytes'].encode()).hexdigest() == s['entry_hash'])
    leaves = [bytes.fromhex(s['entry_hash']) for s in steps['steps']]
    roots = [tree.root()] + [tree.append(x) or tree.root() for x in leaves]
    for size, h in steps['roots'].items():
        check(f'root {size}', roots[int(size)].hex() == h)
    for p in steps['inclusion']:
        check(f'inclusion {p["index"]}', verify_inclusion(p['index'], p['size'], leaves[p['index']],
              [bytes.fromhex(x) for x in p['hashes']], roots[p['size']]))
    for p in steps['consistency']:
        check(f'consistency {p["old_size"]}', verify_consistency(p['old_size'], p['new_size'],
              roots[p['old_size']], roots[p['new_size']], [bytes.fromhex(x) for x in p['hashes']]))

    # (c) mutations of the vector ledger must be rejected, naming the right seq
    def edit(lines, seq, old, new):
        out = list(lines)
        assert old in out[seq]
        out[seq] = out[seq].replace(old, new, 1)
        return out

    def flip(lines, seq, needle):  # flip the low bit of the last byte of `needle`
        out, at = list(lines), lines[seq].index(needle) + len(needle) - 1
        out[seq] = out[seq][:at] + bytes([out[seq][at] ^ 1]) + out[seq][at + 1:]
        return out
    expect('body byte flipped', flip(full, 5, b'"report_id":"R-1'), 'seq 5', 'body_hash')
    expect('entry byte flipped', flip(full, 5, b'"created":"2026-03-15'), 'seq 5', 'signature')
    expect('prev byte flipped', flip(full, 2, b'"prev":"4'), 'seq 2', 'prev')
    expect('line 3 deleted', full[:3] + full[4:], 'seq 3', 'expected 3')
    expect('lines 2, 3 swapped', full[:2] + [full[3], full[2]] + full[4:], 'seq 2', 'expected 2')
    expect('record ledger changed', edit(full, 6, b'"ledger":"vectors.example/jw-ledger"',
           b'"ledger":"vectors.example/other"'), 'seq 6', 'origin')
    expect('whitespace', edit(full, 3, b'{"body"', b'{ "body"'), 'seq 3', 'canonical')
    expect('needless escape', edit(full, 3, b'"R-1"', b'"R\\u002d1"'), 'seq 3', 'canonical')
    expect('float', edit(full, 3, b'"v":1', b'"v":1.0'), 'seq 3', 'integer')
    expect('duplicate key', edit(full, 3, b'"v":1}', b'"v":1,"v":1}'), 'seq 3', 'duplicate')
    expect('no final newline', full[:-1] + [full[-1][:-1]], 'line 8', 'newline')
    expect('blank line at end', full + [b'\n'], 'line 9', 'JSON')
    expect('redacted names wrong entry', edit(full, 4, b'"redacted":7', b'"redacted":6'), 'seq 4', 'does not redact')
    expect('redaction missing', full[:7], 'seq 4', 'not in the export')
    w1 = {'entry': objs[1]['entry'], 'withheld': True}
    expect('key.grant withheld', [full[0], jcs_bytes(w1) + b'\n'] + full[2:], 'seq 1', 'never')
    sig3 = base64.b64decode(objs[3]['entry']['sig'])
    big_s = sig3[:36] + (int.from_bytes(sig3[36:], 'little') + L).to_bytes(32, 'little')
    expect('S + L signature', edit(full, 3, objs[3]['entry']['sig'].encode(), b64(big_s).encode()), 'seq 3', 'signature')
    # identity point as A and R with S = 0 "signs" every message; OpenSSL (cryptography 48) accepts it
    one = (1).to_bytes(32, 'little')
    check('small-order forgery rejected', not ed_verify(one, b'x', one + bytes(32)))
    # JCS string escaping: only '"', '\\' and C0 controls; U+007F, U+2028 and non-ASCII stay raw
    check('jcs escapes', jcs('a"\\\b\t\n\f\r\x01\x1f\x7f\u2028\u00e9') ==
          '"a\\"\\\\\\b\\t\\n\\f\\r\\u0001\\u001f\x7f\u2028\u00e9"')
    check('jcs object', jcs(loads('{"b":[1,-2,true,null],"a":{"z":"","A":0}}')) == '{"a":{"A":0,"z":""},"b":[1,-2,true,null]}')
    for bad in ('{"a":1e2}', '{"a":9007199254740992}', '{"a":NaN}', '{"é":1}'):
        try:
            jcs(loads(bad))
            check(f'rejects {bad}', False)
        except ValueError:
            check(f'rejects {bad}', True)

    # checkpoints
    log_kid, log_priv = signers[keys['log']['identity']]

    def note(text, kid=log_kid, priv=log_priv, name=keys['log']['name']):
        return text + f'\n\u2014 {name} {b64(kid + priv.sign(text))}\n'.encode()
    cp_text = lambda n, root: f'vectors.example/jw-ledger\n{n}\n{b64(root)}\n'.encode()
    expect('checkpoint root changed', full, 'checkpoint', 'signature', flip([cp], 0, b'LFq')[0])
    expect('checkpoint of size 5', wb, None, '', note(cp_text(5, roots[5])))
    expect('checkpoint of size 0', wb, None, '', note(cp_text(0, roots[0])))
    expect('checkpoint wrong root', full, 'checkpoint', 'root', note(cp_text(5, roots[4])))
    expect('checkpoint too large', full, 'checkpoint', 'exceeds', note(cp_text(9, roots[8])))
    admin_kid, admin_priv = signers[keys['admin']['identity']]
    expect('checkpoint by admin key', full, 'checkpoint', 'log key', note(cp_text(8, roots[8]), admin_kid, admin_priv, 'admin.zhao'))
    expect('--log-vkey mismatch', full, 'seq 0', 'log-vkey', cp, keys['admin']['vkey'])

    # semantic mutations: re-sign and re-chain with the vector keys, append entries after seq 7
    extra = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    xpub = extra.public_key().public_bytes_raw()
    xid = 'admin.sun+' + key_id('admin.sun', xpub).hex()
    xvkey = xid + '+' + b64(b'\x01' + xpub)
    signers[xid] = (key_id('admin.sun', xpub), extra)

    def seal(objs):
        out, prev = [], ZERO
        for i, o in enumerate(objs):
            e, r = o['entry'], o['entry']['record']
            e['seq'], e['prev'] = i, prev
            if 'body' in o:
                r['body_hash'] = hashlib.sha256(bytes.fromhex(o['salt']) + jcs_bytes(o['body'])).hexdigest()
            kid, priv = signers[r['author']]
            e['sig'] = b64(kid + priv.sign(jcs_bytes(r) + b'\n'))
            prev = hashlib.sha256(b'\0' + jcs_bytes(e)).hexdigest()
            out.append(jcs_bytes(o) + b'\n')
        return out
    check('seal reproduces ledger.jsonl', seal([json.loads(x) for x in full]) == full)
    A, O, U, G = (keys[k]['identity'] for k in ('admin', 'officer', 'auditor', 'log'))
    holder = {'name': 'x', 'unit': 'y'}

    def add(*recs, base=full):
        objs = [json.loads(x) for x in base]
        for n, (kind, author, body, *t) in enumerate(recs):
            tm = t[0] if t else f'2026-05-0{n + 1}T00:00:00.000Z'
            objs.append({'body': body, 'salt': '00' * 16, 'entry': {'prev': '', 'seq': 0, 'sig': '', 'time': tm, 'record': {
                'author': author, 'body_hash': '', 'created': tm, 'kind': kind, 'ledger': 'vectors.example/jw-ledger', 'v': 1}}})
        return seal(objs)
    report = {'report_id': 'R-2'}
    expect('auditor writes audit.note', add(('audit.note', U, report)))
    expect('officer writes report', add(('report.received', O, report)))
    expect('auditor writes report', add(('report.received', U, report)), 'seq 8', 'lacks role officer')
    expect('officer grants', add(('key.grant', O, {'key': xvkey, 'roles': ['admin'], 'holder': holder})), 'seq 8', 'lacks role admin')
    expect('grant twice', add(('key.grant', A, {'key': keys['officer']['vkey'], 'roles': ['officer'], 'holder': holder})), 'seq 8', 'more than once')
    expect('grant the log key', add(('key.grant', A, {'key': keys['log']['vkey'], 'roles': ['officer'], 'holder': holder})), 'seq 8', 'checkpoints')
    expect('log key writes', add(('report.received', G, report)), 'seq 8', 'no key granted')
    expect('revoke last admin', add(('key.revoke', A, {'key': A, 'reason': 'r'})), 'seq 8', 'last active admin')
    expect('revoked officer writes', add(('key.revoke', A, {'key': O, 'reason': 'r'}), ('interview', O, report)), 'seq 9', 'revoked at seq 8')
    expect('hand over admin', add(('key.grant', A, {'key': xvkey, 'roles': ['admin'], 'holder': holder}),
                                  ('key.revoke', xid, {'key': A, 'reason': 'r'}), ('audit.note', U, report)))
    expect('revoked admin writes', add(('key.grant', A, {'key': xvkey, 'roles': ['admin'], 'holder': holder}),
                                       ('key.revoke', xid, {'key': A, 'reason': 'r'}), ('ledger.note', A, report)), 'seq 10', 'revoked')
    expect('second genesis', add(('ledger.genesis', A, objs[0]['body'])), 'seq 8', 'only at seq 0')
    expect('time goes back', add(('interview', O, report, '2026-04-01T00:00:00.000Z')), 'seq 8', 'earlier')
    expect('impossible date', add(('interview', O, report, '2026-06-31T00:00:00.000Z')), 'seq 8', 'real')
    expect('redact a key.grant', add(('ledger.redact', A, {'target': {'seq': 1, 'entry_hash': steps['steps'][1]['entry_hash']}, 'reason': 'r'})), 'seq 8', 'never redacted')
    expect('redact leaves body', add(('ledger.redact', A, {'target': {'seq': 5, 'entry_hash': steps['steps'][5]['entry_hash']}, 'reason': 'r'})), 'seq 5', 'still present')
    bad_target = {'target': {'seq': 4, 'entry_hash': ZERO}, 'reason': 'r'}
    expect('redact wrong hash', add(('ledger.redact', A, bad_target), base=full[:7]), 'seq 7', 'entry_hash')
    expect('redact wrong hash, withheld', add(('ledger.redact', A, bad_target), base=wb[:7]), 'seq 7', 'entry_hash')
    other = [json.loads(x) for x in add(('interview', O, report))]
    other[8]['entry']['record']['ledger'] = 'vectors.example/other'
    expect('record ledger changed, re-signed', seal(other), 'seq 8', 'origin')
    print(f'{tally[0]} passed, {tally[1]} failed')
    return 1 if tally[1] else 0


def main(argv):
    ap = argparse.ArgumentParser(description='Verify a lianlog format-v1 export (JSON Lines).')
    ap.add_argument('export', nargs='?', help='export file (JSON Lines of stored lines)')
    ap.add_argument('--checkpoint', help='C2SP signed-note checkpoint to verify against')
    ap.add_argument('--log-vkey', help='expected log key vkey (must equal the genesis log_key)')
    ap.add_argument('--self-test', action='store_true', help='run the built-in tests on ../vectors/')
    a = ap.parse_args(argv)
    if a.self_test:
        if a.export or a.checkpoint or a.log_vkey:
            ap.error('--self-test takes no other arguments')
        return self_test()
    if not a.export:
        ap.error('EXPORT is required')
    try:
        if a.log_vkey is not None:
            Key(a.log_vkey)
        cp = open(a.checkpoint, 'rb').read() if a.checkpoint else None
        open(a.export, 'rb').close()
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2

    def lines():
        with open(a.export, 'rb') as f:
            yield from f
    try:
        n, head, root = verify(lines, cp, a.log_vkey)
    except Fail as f:
        print(f'FAIL {f.where}: {f.reason}')
        return 1
    print(f'ok: {n} entries, head {head}, root {root}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
