#!/usr/bin/env python3
"""Independent C2SP tlog-tiles of a lianlog export, from the specs alone (Python 3 stdlib only).

  tiles.py EXPORT.jsonl [--size N]

Prints one JSON object: {"<path>": "<hex of the resource>", ...} with every hash tile
(`tile/<L>/<N>[.p/<W>]`) and entry bundle (`tile/entries/<N>[.p/<W>]`) that tlog-tiles says a log
of N entries (default: every line of the export) serves, full and partial. Nothing here comes from
lianlog's code:

- entry bytes = JCS(entry) (format-v1 sections 2 and 5), re-serialized from the parsed line;
- the tree is RFC 6962 section 2.1's MTH by its recursive definition (split at the largest power of
  two below n), leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right);
- hash i of tile n at level l = MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l]); the partial tile at
  level l has floor(N / 256**l) mod 256 hashes; a bundle is uint16_be(len) || entry per entry;
- paths: the index in 3-digit groups, all but the last prefixed with x; `.p/<W>` for partial tiles.
"""
import argparse, functools, hashlib, json, sys


def jcs(value):
    # Entries hold only objects, strings and integers (format-v1 section 5). Python's json escapes
    # exactly ", \\ and control characters when ensure_ascii is off, as JCS does; keys are ASCII.
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'), sort_keys=True).encode()


def path(kind, index, width):
    digits = str(index)
    digits = '0' * (-len(digits) % 3) + digits
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    text = f'tile/{kind}/' + '/'.join(['x' + g for g in groups[:-1]] + [groups[-1]])
    return text + (f'.p/{width}' if width < 256 else '')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('export')
    parser.add_argument('--size', type=int)
    args = parser.parse_args()
    with open(args.export, 'rb') as f:
        entries = [jcs(json.loads(line)['entry']) for line in f if line.strip()]
    size = len(entries) if args.size is None else args.size
    entries = entries[:size]
    leaves = [hashlib.sha256(b'\x00' + e).digest() for e in entries]

    @functools.lru_cache(maxsize=None)
    def mth(start, end):
        n = end - start
        if n == 0:
            return hashlib.sha256(b'').digest()
        if n == 1:
            return leaves[start]
        k = 1
        while k * 2 < n:
            k *= 2
        return hashlib.sha256(b'\x01' + mth(start, start + k) + mth(start + k, end)).digest()

    out = {}
    level = 0
    while size >> (8 * level) > 0:
        span = 256 ** level
        hashes = size // span
        for index in range((hashes + 255) // 256):
            width = min(256, hashes - index * 256)
            tile = b''.join(mth((index * 256 + i) * span, (index * 256 + i + 1) * span) for i in range(width))
            out[path(str(level), index, width)] = tile.hex()
        level += 1
    for index in range((size + 255) // 256):
        width = min(256, size - index * 256)
        bundle = b''.join(len(e).to_bytes(2, 'big') + e for e in entries[index * 256:index * 256 + width])
        out[path('entries', index, width)] = bundle.hex()
    json.dump(out, sys.stdout, indent=0, sort_keys=True)
    print()


if __name__ == '__main__':
    main()
