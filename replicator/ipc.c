/*
 * ipc.c - the daemon's processes speak in typed, length-checked messages
 * over a socketpair (ipc.h).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

void
ipc_init(struct ipc *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	/* Decrypted frames pass here: commits may carry secrets. */
	buf_secret(&c->in);
	buf_secret(&c->out);
}

void
ipc_clear(struct ipc *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_free_secret(&c->in);
	buf_free_secret(&c->out);
	c->off = 0;
	c->outoff = 0;
}

int
ipc_compose(struct ipc *c, uint32_t type, uint32_t peer, const void *data,
    size_t len, struct error *err)
{
	unsigned char hdr[IPC_HDR_LEN];
	uint32_t l = (uint32_t)len;

	if (len > IPC_DATA_MAX)
		return error_set(err, ERR_INPUT, "message of %zu bytes is too "
		    "long", len);
	memcpy(hdr, &type, 4);
	memcpy(hdr + 4, &l, 4);
	memcpy(hdr + 8, &peer, 4);
	if (buf_append(&c->out, hdr, sizeof(hdr)) == -1 ||
	    (len > 0 && buf_append(&c->out, data, len) == -1))
		return error_errno(err, ERR_FAIL, "message");
	return 0;
}

size_t
ipc_queued(const struct ipc *c)
{
	return c->out.len - c->outoff;
}

int
ipc_flush(struct ipc *c, struct error *err)
{
	ssize_t n;
	int rc = 0, flags = 0;

#ifdef MSG_NOSIGNAL
	flags = MSG_NOSIGNAL;	/* the daemon ignores SIGPIPE anyway */
#endif
	while (c->outoff < c->out.len) {
		n = send(c->fd, c->out.data + c->outoff,
		    c->out.len - c->outoff, flags);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			rc = error_errno(err, ERR_FAIL, "sending to the other "
			    "process");
			break;
		}
		c->outoff += (size_t)n;
	}
	/*
	 * Written bytes go when all are, or when they are most of a big
	 * buffer: a frame of 64 MiB written in small pieces is not moved
	 * for each one.
	 */
	if (c->outoff == c->out.len) {
		buf_reset(&c->out);
		c->outoff = 0;
	} else if (c->outoff >= (1u << 20) && c->outoff >= c->out.len / 2) {
		memmove(c->out.data, c->out.data + c->outoff,
		    c->out.len - c->outoff);
		c->out.len -= c->outoff;
		c->outoff = 0;
	}
	/* A big frame gone: its memory need not stay. */
	if (c->out.len == 0 && c->out.cap > (1u << 20))
		buf_free_secret(&c->out);
	return rc;
}

int
ipc_read(struct ipc *c, struct error *err)
{
	ssize_t n;

	/* What was taken goes, so the buffer holds one message or so. */
	if (c->off > 0) {
		memmove(c->in.data, c->in.data + c->off, c->in.len - c->off);
		c->in.len -= c->off;
		c->off = 0;
		if (c->in.len == 0 && c->in.cap > (1u << 20))
			buf_free_secret(&c->in);
	}
	if (buf_reserve(&c->in, 65536) == -1)
		return error_errno(err, ERR_FAIL, "reading from the other "
		    "process");
	do
		n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 1;
	if (n == -1)
		return error_errno(err, ERR_FAIL, "reading from the other "
		    "process");
	if (n == 0)
		return 0;
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	return 1;
}

int
ipc_get(struct ipc *c, struct ipc_msg *m, struct error *err)
{
	const unsigned char *p;
	uint32_t len;
	size_t have = c->in.len - c->off;

	if (have < IPC_HDR_LEN)
		return 0;
	p = (const unsigned char *)c->in.data + c->off;
	memcpy(&len, p + 4, 4);
	/* Checked before a byte more is buffered for it. */
	if (len > IPC_DATA_MAX)
		return error_set(err, ERR_INPUT, "a message announces %lu "
		    "bytes, more than %u", (unsigned long)len,
		    (unsigned)IPC_DATA_MAX);
	if (have < IPC_HDR_LEN + (size_t)len)
		return 0;
	memcpy(&m->type, p, 4);
	memcpy(&m->peer, p + 8, 4);
	m->len = len;
	m->data = p + IPC_HDR_LEN;
	c->off += IPC_HDR_LEN + (size_t)len;
	return 1;
}

int
ipc_check(const struct ipc_msg *m, const struct ipc_rule *rules, size_t n,
    struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (rules[i].type != m->type)
			continue;
		if (m->len >= rules[i].min && m->len <= rules[i].max)
			return 0;
		if (rules[i].min == rules[i].max)
			return error_set(err, ERR_INPUT, "message of type %lu: "
			    "%zu bytes, not %zu", (unsigned long)m->type,
			    m->len, rules[i].min);
		return error_set(err, ERR_INPUT, "message of type %lu: %zu "
		    "bytes, not %zu to %zu", (unsigned long)m->type, m->len,
		    rules[i].min, rules[i].max);
	}
	return error_set(err, ERR_INPUT, "message of unknown type %lu",
	    (unsigned long)m->type);
}
