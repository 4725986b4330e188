#!/bin/sh
# export writes the state as a batch that apply takes: fed to a fresh
# store it gives the same state exactly, strings, lists and blobs alike.
. "$(dirname "$0")/lib.sh"

A="$SCRATCH/a" B="$SCRATCH/b" C="$SCRATCH/c"
expect 0 "$CFGSTORE" -d "$A" init --node fw1 --primary
expect 0 "$CFGSTORE" -d "$B" init --node fw1 --primary
expect 0 "$CFGSTORE" -d "$C" init --node fw1 --primary

step "awkward values on A"
c() { expect 0 "$CFGSTORE" -d "$A" "$@"; }
c set plain.word word
c set spaced.text "-Y em2 -y em2 em0"
c set quoted.text 'say "hi" \ back\slash'
c set tab.text "$(printf 'a\tb')"
c set empty.text ""
c set unicode.text "Zürich — 東京"
c set hash.text "#not-a-comment"
c set dash.text -- "--list"
c set --list one.item 10.0.0.53
c set --list no.items
c set many.items 10.0.0.53 "10.0.0.54 x" '"q"'
c set ntpd.listen@fw1 10.0.0.3
printf '' > "$SCRATCH/empty"; c set --file empty.blob "$SCRATCH/empty"
head -c 4096 /dev/urandom > "$SCRATCH/rand"; c set --file rand.blob "$SCRATCH/rand"
printf 'line one\nline two\n\0end' > "$SCRATCH/text"; c set --file text.blob "$SCRATCH/text"
# Overrides need their host as a peer; peers are not in an export.  From
# here on commits are not on every peer: exit status 3.
fw2key=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
expect 0 "$CFGSTORE" -d "$A" peer add fw2 127.0.0.1:1 "$fw2key"
expect 0 "$CFGSTORE" -d "$B" peer add fw2 127.0.0.1:1 "$fw2key"
expect 3 "$CFGSTORE" -d "$A" set ntpd.listen@fw2 10.0.0.4
expect 3 "$CFGSTORE" -d "$A" set dhcpd.flags@fw2 "-Y vr2 -y vr2 vr0"

step "export from A, apply to B, in one commit"
expect 0 "$CFGSTORE" -d "$A" export; cp "$SCRATCH/out" "$SCRATCH/export"
assert_grep '^set ntpd.listen@fw2 10.0.0.4$' "$SCRATCH/export"
expect 3 "$CFGSTORE" -d "$B" apply -m "from A" "$SCRATCH/export"
expect 0 "$CFGSTORE" -d "$B" log -n 1
assert_grep ' from A$' "$SCRATCH/out"

step "the states are equal"
"$CFGSTORE" -d "$A" export > "$SCRATCH/ea"
"$CFGSTORE" -d "$B" export > "$SCRATCH/eb"
cmp -s "$SCRATCH/ea" "$SCRATCH/eb" || { diff "$SCRATCH/ea" "$SCRATCH/eb"; fail "exports differ"; }
"$CFGSTORE" -d "$A" list --json > "$SCRATCH/ja"
"$CFGSTORE" -d "$B" list --json > "$SCRATCH/jb"
cmp -s "$SCRATCH/ja" "$SCRATCH/jb" || fail "list --json differs"
for k in empty.blob rand.blob text.blob; do
	"$CFGSTORE" -d "$B" get $k > "$SCRATCH/got"
	cmp -s "$SCRATCH/got" "$SCRATCH/${k%.blob}" || fail "$k differs"
done
expect 0 "$CFGSTORE" -d "$B" get quoted.text; assert_out 'say "hi" \ back\slash'
expect 0 "$CFGSTORE" -d "$B" get --json one.item; assert_out '[
  "10.0.0.53"
]'
expect 0 "$CFGSTORE" -d "$B" get --json no.items; assert_out '[]'
expect 0 "$CFGSTORE" -d "$B" get dash.text; assert_out '--list'

expect 0 "$CFGSTORE" -d "$B" get --host fw2 ntpd.listen; assert_out 10.0.0.4

step "applying the export again changes nothing"
expect 0 "$CFGSTORE" -d "$B" apply "$SCRATCH/export"
assert_grep 'unchanged' "$SCRATCH/out"
expect 0 "$CFGSTORE" -d "$B" verify

step "without fw2 as a peer the export is refused, says how to fix it, writes nothing"
before=$("$CFGSTORE" -d "$C" export; "$CFGSTORE" -d "$C" log)
line=$(grep -n '@fw2 ' "$SCRATCH/export" | head -n 1 | cut -d: -f1)
expect 2 "$CFGSTORE" -d "$C" apply "$SCRATCH/export"
assert_err_line "^cfgstore: .*/export:$line: unknown host 'fw2' in key '[a-z.]+@fw2' \(known: fw1; add it first: cfgstore peer add fw2 ADDR:PORT KEY\)$"
after=$("$CFGSTORE" -d "$C" export; "$CFGSTORE" -d "$C" log)
[ "$before" = "$after" ] || fail "a refused apply changed the store"
expect 0 "$CFGSTORE" -d "$C" peer add fw2 127.0.0.1:1 "$fw2key"
expect 3 "$CFGSTORE" -d "$C" apply "$SCRATCH/export"
"$CFGSTORE" -d "$C" export > "$SCRATCH/ec"
cmp -s "$SCRATCH/ea" "$SCRATCH/ec" || { diff "$SCRATCH/ea" "$SCRATCH/ec"; fail "exports differ"; }
expect 0 "$CFGSTORE" -d "$C" verify
ok "export/apply round trip"
