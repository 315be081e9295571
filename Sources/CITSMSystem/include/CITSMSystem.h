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

#endif
