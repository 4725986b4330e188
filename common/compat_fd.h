/*
 * compat_fd.h - descriptors created close-on-exec, in one step.
 *
 * The daemon spawns service restarts from one thread while others accept
 * and dial: a descriptor that gets FD_CLOEXEC only after it exists can
 * leak into a child in between.  Where the system has pipe2(2),
 * accept4(2) and SOCK_CLOEXEC they are used; elsewhere the flag is set
 * right after, which is the best that can be done there.
 */
#ifndef CFGSTORE_COMPAT_FD_H
#define CFGSTORE_COMPAT_FD_H

#include <sys/types.h>
#include <sys/socket.h>

int	fd_pipe_cloexec(int p[2]);
int	fd_socket_cloexec(int domain, int type, int protocol);
int	fd_accept_cloexec(int fd, struct sockaddr *sa, socklen_t *sl);

#endif
