#!/bin/sh
# t2000: mustache-render, the template checking tool, end to end.
. "$SRCDIR/tests/e2e/lib.sh"

T="$SCRATCH/t"
mkdir -p "$T/partials"

# err_line PATTERN: stderr is one line "mustache-render: ..." matching it.
err_line() {
	[ "$(wc -l < "$SCRATCH/err")" -eq 1 ] || { err; fail "stderr is not one line"; }
	grep -Eq -- "^mustache-render: $1" "$SCRATCH/err" || {
		err; fail "stderr does not match /$1/"; }
}

step "config mode: nsd zones, ntp servers, a partial"
cat > "$T/nsd.conf" <<'TMPL'
{{! one zone: block per zone }}
{{>header}}
server:
	ip-address: {{nsd.listen}}
{{#nsd.zones.*}}

zone:
	name: "{{@key}}"
	zonefile: "{{.file}}"
{{/nsd.zones.*}}
# ntp {{#ntp}}{{.}}{{^@last}}, {{/@last}}{{/ntp}}
TMPL
printf '# generated for {{node}}\n' > "$T/partials/header"
cat > "$T/data.json" <<'JSON'
{"node": "fw1", "nsd": {"listen": "10.0.0.1",
 "zones": {"example.org": {"file": "example.org.zone"},
           "a.example": {"file": "a.example.zone"}}},
 "ntp": ["10.0.0.2", "10.0.0.3"]}
JSON
expect 0 mustache-render "$T/nsd.conf" "$T/data.json" "$T/partials"
assert_out '# generated for fw1
server:
	ip-address: 10.0.0.1

zone:
	name: "example.org"
	zonefile: "example.org.zone"

zone:
	name: "a.example"
	zonefile: "a.example.zone"
# ntp 10.0.0.2, 10.0.0.3'
ok "rendered"

step "config mode: no escaping, strict"
printf 'a = "{{v}}"\n' > "$T/esc"
echo '{"v": "<&>"}' > "$T/esc.json"
expect 0 mustache-render "$T/esc" "$T/esc.json"
assert_out 'a = "<&>"'
printf 'x\n  iface {{unbound.interface}}\n' > "$T/miss"
expect 1 mustache-render "$T/miss" "$T/esc.json"
err_line "miss:2: missing value for 'unbound.interface'$"
printf '{{>nope}}\n' > "$T/nopart"
expect 1 mustache-render "$T/nopart" "$T/esc.json" "$T/partials"
err_line "nopart:1: no partial 'nope'$"
printf '{{#zones}}\nx\n' > "$T/open"
expect 1 mustache-render "$T/open" "$T/esc.json"
err_line "open:1: unclosed section 'zones'$"
ok "errors are one line"

step "spec mode: escaping on, missing is empty"
printf '{{v}}|{{{v}}}|{{nope}}|{{>nope}}|{{n}}|{{f}}\n' > "$T/html"
echo '{"v": "<&>", "n": 85, "f": 1.21}' > "$T/html.json"
expect 0 mustache-render "$T/html" "$T/html.json" "$T/partials" --html
assert_out '&lt;&amp;&gt;|<&>|||85|1.21'
ok "spec mode"

step "bad input and usage"
expect 2 mustache-render
expect 2 mustache-render "$T/html"
expect 2 mustache-render "$T/html" "$T/html.json" --bogus
expect 1 mustache-render "$T/absent" "$T/html.json"
err_line ".*absent"
echo '{"a":' > "$T/bad.json"
expect 1 mustache-render "$T/html" "$T/bad.json"
err_line ".*bad.json"
printf '{{>../esc}}' > "$T/escape"
expect 1 mustache-render "$T/escape" "$T/html.json" "$T/partials"
err_line "escape:1: partial '../esc': bad partial name$"
ok "refused"
