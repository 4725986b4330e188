#!/bin/sh
# export then apply gives back exactly the same state for every key and
# value the store accepts, at each of its limits: keys of 255 bytes and
# hosts of 63, components that begin with a digit, strings of 8 MiB that
# escape to twice that, every character text may hold (C1 controls too),
# words that look like batch syntax or options, lists of 0 and 65,535
# items filling the 8 MiB, and blobs empty, binary and of 8 MiB.  The
# state is compared with what was meant, as JSON built independently.
. "$(dirname "$0")/lib.sh"

A="$SCRATCH/a" B="$SCRATCH/b"
expect 0 "$CFGSTORE" -d "$A" init --node fw1 --primary
expect 0 "$CFGSTORE" -d "$B" init --node fw1 --primary
# Without the shipped templates, so the states are only ours.
for d in "$A" "$B"; do
	expect 0 "$CFGSTORE" -d "$d" apply --replace '' /dev/null
	expect 0 "$CFGSTORE" -d "$d" list; [ ! -s "$SCRATCH/out" ] || fail "keys left"
done
host=$(python3 -c 'print("h" + "x" * 62)')
hkey=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
for d in "$A" "$B"; do
	expect 0 "$CFGSTORE" -d "$d" peer add "$host" 127.0.0.1:1 "$hkey"
done

step "a batch at every limit, and the state it should make, written independently"
python3 - "$SCRATCH" "$host" <<'EOS'
import base64, json, os, random, sys
scratch, host = sys.argv[1], sys.argv[2]
MIB8 = 8 << 20
rnd = random.Random(6030)
vals = {}          # key -> ("string", str) | ("list", [str]) | ("blob", bytes)

def quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"').replace('\t', '\\t') + '"'

# Keys: the longest, the longest override, digits first, '_' and '-' inside.
k255 = ".".join(["k" + "x" * 62] * 4)[:255]
assert len(k255) == 255 and not k255.endswith(".")
ko = "o" * (255 - 1 - len(host)) + "@" + host
assert len(ko) == 255
vals[k255] = ("string", "longest key")
vals[ko] = ("string", "longest override")
vals["0.9x.1_-"] = ("string", "digits first")
vals["a-b_c.d_e-f"] = ("string", "dash and underscore")
# Every character a string may hold: TAB, printable ASCII, C1, odd code points.
ascii_ = "\t" + "".join(chr(c) for c in range(0x20, 0x7f))
c1 = "".join(chr(c) for c in range(0x80, 0xa0))
vals["text.ascii"] = ("string", ascii_)
vals["text.c1"] = ("string", c1)
vals["text.unicode"] = ("string", "\u00a0\u2028\u2029\ufeff\ufffd\U0001f600\U0010ffff Zürich 東京")
for i, w in enumerate(["", "-", "--", "--list", "--file", "--blob", "-m", "-h",
        "--help", "#x", "# x", "del", "set", "'", '"', "\\", "\\t", " lead",
        "trail ", "a  b", "=", "a=b"]):
    vals["word.w%02d" % i] = ("string", w)
# Strings of 8 MiB: plain, and the ones that escape to twice their size.
vals["big.plain"] = ("string", "p" * MIB8)
vals["big.quotes"] = ("string", '"' * MIB8)
vals["big.tabs"] = ("string", "\t" * (MIB8 // 2) + "\\" * (MIB8 // 2))
# Lists: empty, one empty item, 65,535 items filling 8 MiB of payload.
vals["list.empty"] = ("list", [])
vals["list.one-empty"] = ("list", [""])
vals["list.one"] = ("list", ["--list"])
n, item = 65535, MIB8 // 65535 - 5
assert n * (item + 5) <= MIB8
vals["list.full"] = ("list", ['"' * item] * (n - 1) + ["\t" * item])
vals["list.words"] = ("list", ["-", "--file", "del", "", " ", "#", "'", '"'])
# Blobs: empty, every byte, text, 8 MiB of random bytes.
vals["blob.empty"] = ("blob", b"")
vals["blob.bytes"] = ("blob", bytes(range(256)))
vals["blob.text"] = ("blob", "line one\nline two\n".encode())
vals["blob.big"] = ("blob", bytes(rnd.getrandbits(8) for _ in range(1 << 16)) * 128)
assert len(vals["blob.big"][1]) == MIB8

def line(k, t, v):
    if t == "string":
        return "set %s %s\n" % (k, quote(v))
    if t == "list":
        return "set --list %s%s\n" % (k, "".join(" " + quote(x) for x in v))
    return "set --blob %s %s\n" % (k, base64.b64encode(v).decode() or '""')

# Two commits: the big values would pass 64 MiB in one.
big = {k for k in vals if k.startswith("big.") or k in ("list.full", "blob.big")}
for name, keys in (("small", [k for k in vals if k not in big]), ("big", sorted(big))):
    with open(os.path.join(scratch, name + ".batch"), "w", encoding="utf-8", newline="\n") as f:
        for k in keys:
            f.write(line(k, *vals[k]))

def js(t, v):
    if t == "blob":
        return {"blob": base64.b64encode(v).decode()}
    return v
with open(os.path.join(scratch, "want.json"), "w") as f:
    json.dump({k: js(*vals[k]) for k in vals}, f)
for k, (t, v) in vals.items():
    if t == "blob":
        open(os.path.join(scratch, "want." + k), "wb").write(v)
EOS
[ -s "$SCRATCH/big.batch" ] || fail "no batch written"

step "onto A through apply; a value one byte over a limit is refused"
expect 3 "$CFGSTORE" -d "$A" apply -m small "$SCRATCH/small.batch"
expect 3 "$CFGSTORE" -d "$A" apply -m big "$SCRATCH/big.batch"
python3 -c 'print("set over.limit " + "p" * ((8 << 20) + 1))' > "$SCRATCH/over"
expect 2 "$CFGSTORE" -d "$A" apply "$SCRATCH/over"
assert_err_line "over:1: value too large: 8388609 bytes \(limit 8388608\)"
python3 -c 'print("set --list over.limit" + " x" * 65536)' > "$SCRATCH/over"
expect 2 "$CFGSTORE" -d "$A" apply "$SCRATCH/over"
assert_err_line "over:1: (too many values|list too long)"
python3 -c 'print("set " + "k" * 256 + " x")' > "$SCRATCH/over"
expect 2 "$CFGSTORE" -d "$A" apply "$SCRATCH/over"
assert_err_line "over:1: key too long: 256 bytes"

compare() {
	"$CFGSTORE" -d "$1" list --json > "$SCRATCH/got.json" || fail "list --json on $1"
	python3 - "$SCRATCH/want.json" "$SCRATCH/got.json" <<'EOS' || fail "$1: state differs from what was meant"
import json, sys
want = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
bad = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
for k in sorted(bad)[:5]:
    print("differs:", k[:80], repr(want.get(k))[:80], repr(got.get(k))[:80])
sys.exit(1 if bad else 0)
EOS
	for k in blob.empty blob.bytes blob.text blob.big; do
		"$CFGSTORE" -d "$1" get "$k" > "$SCRATCH/got.blob"
		cmp -s "$SCRATCH/got.blob" "$SCRATCH/want.$k" || fail "$1: $k differs"
	done
}
compare "$A"

step "export from A, apply to B: the same state, and the same export"
"$CFGSTORE" -d "$A" export > "$SCRATCH/export" || fail "export"
expect 3 "$CFGSTORE" -d "$B" apply -m copy "$SCRATCH/export"
compare "$B"
"$CFGSTORE" -d "$B" export > "$SCRATCH/export.b" || fail "export B"
cmp -s "$SCRATCH/export" "$SCRATCH/export.b" || fail "the exports differ"
expect 0 "$CFGSTORE" -d "$B" apply "$SCRATCH/export"
assert_grep 'unchanged' "$SCRATCH/out"
expect 0 "$CFGSTORE" -d "$B" verify
ok "export -> apply round trip at every limit"
