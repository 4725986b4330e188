/*
 * compat_fd.c - close-on-exec descriptors (see compat_fd.h).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <unistd.h>

#include "compat_fd.h"

#if defined(__linux__) || defined(__OpenBSD__) || defined(__FreeBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#define HAVE_ATOMIC_CLOEXEC 1
#endif

#ifndef HAVE_ATOMIC_CLOEXEC
static int
cloexec(int fd)
{
	if (fd != -1)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}
#endif

int
fd_pipe_cloexec(int p[2])
{
#ifdef HAVE_ATOMIC_CLOEXEC
	return pipe2(p, O_CLOEXEC);
#else
	if (pipe(p) == -1)
		return -1;
	cloexec(p[0]);
	cloexec(p[1]);
	return 0;
#endif
}

int
fd_socket_cloexec(int domain, int type, int protocol)
{
#ifdef HAVE_ATOMIC_CLOEXEC
	return socket(domain, type | SOCK_CLOEXEC, protocol);
#else
	return cloexec(socket(domain, type, protocol));
#endif
}

int
fd_accept_cloexec(int fd, struct sockaddr *sa, socklen_t *sl)
{
#ifdef HAVE_ATOMIC_CLOEXEC
	return accept4(fd, sa, sl, SOCK_CLOEXEC);
#else
	return cloexec(accept(fd, sa, sl));
#endif
}
