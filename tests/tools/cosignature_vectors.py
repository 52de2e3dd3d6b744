#!/usr/bin/env python3
"""Independent C2SP tlog-cosignature v1 (Ed25519) vectors and checker, written from the specs
alone (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature): Python 3
stdlib + `cryptography`, no lianlog code.

    python3 tests/tools/cosignature_vectors.py > tests/vectors/cosignature.json
    python3 tests/tools/cosignature_vectors.py --verify VKEY NOTE_FILE

The first form prints the vectors as JSON (deterministic: Ed25519 signatures are). Each vector
has the log key and the witness key (seeds, vkeys), the signed checkpoint note, a timestamp, the
exact message the cosignature signs, and the cosignature line.

The second form checks every signature line in NOTE_FILE that is by the cosigner VKEY (a type
0x04 vkey: name+hexid+base64(0x04 || key)): it must be `— name base64(id || u64be(time) ||
sig)` with sig an Ed25519 signature over `cosignature/v1\\ntime <time>\\n` + the note text.
Prints `ok: N cosignatures by NAME, times T...` and exits 0, or `FAIL: ...` and exits 1.
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

DASH = "\u2014"


def raw_public(private):
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name, key_type, public):
    # signed-note / tlog-cosignature: SHA-256(name || "\n" || type || public key)[:4]
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public).digest()[:4]


def vkey(name, key_type, public):
    return "%s+%s+%s" % (name, key_id(name, key_type, public).hex(), base64.b64encode(bytes([key_type]) + public).decode())


def line(name, value):
    return "%s %s %s" % (DASH, name, base64.b64encode(value).decode())


def cosignature_message(text, timestamp):
    return ("cosignature/v1\ntime %d\n" % timestamp).encode() + text.encode()


def vector(log_name, log_seed, witness_name, witness_seed, text, timestamp):
    log = Ed25519PrivateKey.from_private_bytes(log_seed)
    witness = Ed25519PrivateKey.from_private_bytes(witness_seed)
    log_public, witness_public = raw_public(log), raw_public(witness)
    log_line = line(log_name, key_id(log_name, 0x01, log_public) + log.sign(text.encode()))
    note = text + "\n" + log_line + "\n"
    message = cosignature_message(text, timestamp)
    value = key_id(witness_name, 0x04, witness_public) + timestamp.to_bytes(8, "big") + witness.sign(message)
    return {
        "log_name": log_name,
        "log_seed": log_seed.hex(),
        "log_vkey": vkey(log_name, 0x01, log_public),
        "witness_name": witness_name,
        "witness_seed": witness_seed.hex(),
        "witness_vkey": vkey(witness_name, 0x04, witness_public),
        "note": note,
        "timestamp": timestamp,
        "message": message.decode(),
        "cosignature": line(witness_name, value),
    }


def vectors():
    empty = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    return [
        # The example of c2sp.org/tlog-cosignature (checkpoint and time), with our own keys.
        vector(
            "example.com/behind-the-sofa",
            bytes(range(32)),
            "witness.example.com/w1",
            bytes(range(32, 64)),
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            1679315147,
        ),
        # The empty tree of a lianlog-style origin, the smallest timestamp allowed.
        vector(
            "jw.example.gov.cn/accountability",
            bytes([7]) * 32,
            "sjw.example.gov.cn/witness",
            bytes([9]) * 32,
            "jw.example.gov.cn/accountability\n0\n%s\n" % empty,
            1,
        ),
        # An extension line is signed too; the largest timestamp allowed (2^63 - 1).
        vector(
            "audit.example/log",
            bytes([1]) * 32,
            "archive.example/witness",
            bytes([2]) * 32,
            "audit.example/log\n17\n%s\nextension line\n" % base64.b64encode(bytes([3]) * 32).decode(),
            2**63 - 1,
        ),
    ]


def verify(vkey_text, note):
    # The name has no "+"; the base64 key may.
    name, hex_id, encoded = vkey_text.split("+", 2)
    data = base64.b64decode(encoded, validate=True)
    if len(data) != 33 or data[0] != 0x04:
        return "the vkey is not a type 0x04 cosigner key"
    public = data[1:]
    if key_id(name, 0x04, public).hex() != hex_id:
        return "the vkey's key id does not match"
    text, sep, block = note.rpartition("\n\n")
    if not sep:
        return "no blank line in the note"
    text += "\n"
    times = []
    for signature in block.rstrip("\n").split("\n"):
        prefix, line_name, value = signature.split(" ")
        value = base64.b64decode(value, validate=True)
        if prefix != DASH or line_name != name or value[:4].hex() != hex_id:
            continue
        if len(value) != 4 + 8 + 64:
            return "a cosignature by %s is not id, time and signature" % name
        timestamp = int.from_bytes(value[4:12], "big")
        if timestamp == 0 or timestamp >= 2**63:
            return "a cosignature by %s has time %d" % (name, timestamp)
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(value[12:], cosignature_message(text, timestamp))
        except InvalidSignature:
            return "a cosignature by %s does not verify" % name
        times.append(timestamp)
    if not times:
        return "no cosignature by %s" % name
    print("ok: %d cosignatures by %s, times %s" % (len(times), name, " ".join(map(str, times))))
    return None


def main(argv):
    if len(argv) == 1:
        print(json.dumps(vectors(), indent=2, ensure_ascii=False))
        return 0
    if len(argv) == 4 and argv[1] == "--verify":
        with open(argv[3], encoding="utf-8") as f:
            problem = verify(argv[2], f.read())
        if problem:
            print("FAIL: " + problem)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
