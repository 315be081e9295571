#ifndef CITSM_SYSTEM_H
#define CITSM_SYSTEM_H

#include <spawn.h>

/// pipe2(O_CLOEXEC): both ends close on exec, atomically, so a concurrent spawn cannot inherit them.
int citsm_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addchdir_np, which glibc declares only under _GNU_SOURCE.
int citsm_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): the child closes every descriptor
/// from `lowest` up, whatever flags they were opened with.
int citsm_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

/// pidfd_open(2): a descriptor (close-on-exec) that becomes readable when the process exits.
/// -1 with errno ENOSYS where the kernel or headers lack it.
int citsm_pidfd_open(int pid);

/// epoll, without Swift seeing the packed struct epoll_event: a close-on-exec epoll set, watch
/// `fd` for input, stop watching it, and wait (forever, until one is ready) for up to `max` (at most 64) ready ones.
int citsm_epoll_create(void);
int citsm_epoll_add(int epfd, int fd);
int citsm_epoll_remove(int epfd, int fd);
int citsm_epoll_wait_fds(int epfd, int *fds, int max);

#endif
