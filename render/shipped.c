/*
 * shipped.c - the shipped service manifest and templates, as the first
 * commit of a primary.  docs/SERVICES.md describes every key.
 *
 * The manifest is OpenBSD's: paths, rcctl(8), and each daemon's own
 * configuration checker.  Values (addresses, zones, keys) are the site's
 * and are not shipped.
 */
#include <stdio.h>
#include <string.h>

#include "shipped.h"
#include "store.h"

#define VALUES_MAX	4

/* One value is stored as a string, more as a list. */
static const struct {
	const char	*key;
	const char	*v[VALUES_MAX];
} manifest[] = {
	{ "service.ntpd.files", { "conf" } },
	{ "service.ntpd.file.conf.path", { "/etc/ntpd.conf" } },
	{ "service.ntpd.file.conf.template", { "ntpd.conf" } },
	{ "service.ntpd.file.conf.mode", { "0644" } },
	{ "service.ntpd.check", { "ntpd -n -f {}" } },
	{ "service.ntpd.restart", { "rcctl restart ntpd" } },

	{ "service.nsd.files", { "conf", "zones" } },
	{ "service.nsd.file.conf.path", { "/var/nsd/etc/nsd.conf" } },
	{ "service.nsd.file.conf.template", { "nsd.conf" } },
	{ "service.nsd.file.conf.mode", { "0644" } },
	{ "service.nsd.file.zones.each", { "nsd.zones" } },
	{ "service.nsd.file.zones.path", { "/var/nsd/zones/{}.zone" } },
	{ "service.nsd.file.zones.blob", { "nsd.zone.{}" } },
	{ "service.nsd.file.zones.mode", { "0644" } },
	{ "service.nsd.file.zones.check", { "nsd-checkzone {item} {}" } },
	{ "service.nsd.check", { "nsd-checkconf {}" } },
	{ "service.nsd.restart", { "rcctl restart nsd" } },

	{ "service.unbound.files", { "conf", "root-hints" } },
	{ "service.unbound.file.conf.path",
	    { "/var/unbound/etc/unbound.conf" } },
	{ "service.unbound.file.conf.template", { "unbound.conf" } },
	{ "service.unbound.file.conf.mode", { "0644" } },
	{ "service.unbound.file.root-hints.path",
	    { "/var/unbound/etc/root.hints" } },
	{ "service.unbound.file.root-hints.blob", { "unbound.root-hints" } },
	{ "service.unbound.file.root-hints.mode", { "0644" } },
	{ "service.unbound.check", { "unbound-checkconf {}" } },
	{ "service.unbound.restart", { "rcctl restart unbound" } },

	/* rc.conf.local carries dhcpd_flags, the per-host part of dhcpd. */
	{ "service.dhcpd.files", { "conf", "key", "rc" } },
	{ "service.dhcpd.file.conf.path", { "/etc/dhcpd.conf" } },
	{ "service.dhcpd.file.conf.template", { "dhcpd.conf" } },
	{ "service.dhcpd.file.conf.mode", { "0644" } },
	{ "service.dhcpd.file.key.path", { "/var/db/dhcpd.key" } },
	{ "service.dhcpd.file.key.blob", { "dhcpd.key" } },
	{ "service.dhcpd.file.key.mode", { "0600" } },
	{ "service.dhcpd.file.rc.path", { "/etc/rc.conf.local" } },
	{ "service.dhcpd.file.rc.template", { "rc.conf.local" } },
	{ "service.dhcpd.file.rc.mode", { "0644" } },
	{ "service.dhcpd.check", { "dhcpd -n -c {}" } },
	{ "service.dhcpd.restart", { "rcctl restart dhcpd" } },

	/* hostname.if(5) files hold the CARP password: 0640, as netstart wants. */
	{ "service.carp.files", { "iface" } },
	{ "service.carp.file.iface.each", { "carp.interfaces" } },
	{ "service.carp.file.iface.path", { "/etc/hostname.{}" } },
	{ "service.carp.file.iface.template", { "hostname.carp" } },
	{ "service.carp.file.iface.data", { "carp.{}" } },
	{ "service.carp.file.iface.mode", { "0640" } },
	{ "service.carp.restart", { "sh /etc/netstart carp1 carp2" } },

	/*
	 * The firewall's own rules, 0600 as OpenBSD ships pf.conf.  Off
	 * until the admin sets pf.enable: a pf.conf written by cfgstore
	 * replaces the one the machine has, so that is a choice to make.
	 */
	{ "service.pf.files", { "conf" } },
	{ "service.pf.file.conf.each", { "pf.enable" } },
	{ "service.pf.file.conf.path", { "/etc/pf.conf" } },
	{ "service.pf.file.conf.template", { "pf.conf" } },
	{ "service.pf.file.conf.mode", { "0600" } },
	{ "service.pf.check", { "pfctl -nf {}" } },
	{ "service.pf.restart", { "pfctl -f /etc/pf.conf" } },
};

static int
add(struct change *c, const char *key, struct value *v, struct error *err)
{
	int rc;

	if (v == NULL)
		return -1;
	rc = change_set(c, key, v, err);
	value_free(v);
	return rc;
}

int
shipped_add(struct change *c, struct error *err)
{
	char key[STORE_KEY_MAX + 1];
	struct value *v;
	size_t i, n;

	for (i = 0; i < shipped_template_count; i++) {
		snprintf(key, sizeof(key), "template.%s",
		    shipped_template_names[i]);
		if (value_blob(shipped_template_data[i],
		    shipped_template_sizes[i], &v, err) == -1 ||
		    add(c, key, v, err) == -1)
			return error_wrap(err, "%s", key);
	}
	for (i = 0; i < sizeof(manifest) / sizeof(manifest[0]); i++) {
		for (n = 0; n < VALUES_MAX && manifest[i].v[n] != NULL; n++)
			;
		if ((n == 1 ? value_string(manifest[i].v[0],
		    strlen(manifest[i].v[0]), &v, err) :
		    value_list(manifest[i].v, n, &v, err)) == -1 ||
		    add(c, manifest[i].key, v, err) == -1)
			return error_wrap(err, "%s", manifest[i].key);
	}
	return schema_file_add(c, shipped_schema_data[0],
	    shipped_schema_sizes[0], err);
}
