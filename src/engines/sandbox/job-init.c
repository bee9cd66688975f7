/*
 * oasis-job-init: the last step of a job's sandbox, run by bubblewrap inside the job's new
 * namespaces, just before the job itself. In one small program it does what util-linux's setpriv,
 * unshare and prlimit otherwise do in three: every exec of a dynamically linked program costs a
 * job's start one to two milliseconds.
 *
 *   oasis-job-init UID GID FSIZE DATA NPROC NOFILE COMMAND [ARG...]
 *
 * With UID and GID (when Oasis runs as root) it drops to that user for good: no supplementary
 * groups, no capabilities (effective, permitted, inheritable, ambient or bounding), no way to
 * regain any (no_new_privs). It then gives the job a user namespace of its own, mapping only that
 * user, so that the process limit counts this job's processes alone. With "-" for both (Oasis is
 * not root; bubblewrap made the user namespace) it only sets the limits.
 *
 * The limits are set last, inside the new user namespace: a process limit set before it would be
 * recorded as the limit of every process of that user on the host, shared by all jobs. Core dumps
 * are always off: a large process's dump would bypass the working directory's disk limit.
 *
 * Every number is checked whole; anything wrong stops the job before it starts, with exit 125.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXIT_SETUP 125

static void fail(const char *what) {
  fprintf(stderr, "oasis-job-init: %s: %s\n", what, strerror(errno));
  _exit(EXIT_SETUP);
}

static unsigned long long number(const char *text, const char *what) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || text[0] == '+') {
    fprintf(stderr, "oasis-job-init: %s is not a number: '%s'\n", what, text);
    _exit(EXIT_SETUP);
  }
  return value;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(path);
  size_t length = strlen(text);
  if (write(fd, text, length) != (ssize_t)length) fail(path);
  close(fd);
}

static void drop_capabilities(void) {
  for (int cap = 0; cap <= 63; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail("dropping the capability bounding set");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) fail("clearing ambient capabilities");
}

static void clear_capability_sets(void) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) fail("clearing capabilities");
}

static void become(uid_t uid, gid_t gid) {
  drop_capabilities();
  if (setgroups(0, NULL) != 0) fail("clearing supplementary groups");
  if (setresgid(gid, gid, gid) != 0) fail("setting the group");
  if (setresuid(uid, uid, uid) != 0) fail("setting the user");
  clear_capability_sets();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("setting no_new_privs");
  // A change of user makes the process undumpable, which gives its /proc files to root; it must
  // write its own uid_map below. The job's exec sets this anew.
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) fail("making /proc/self writable");

  if (unshare(CLONE_NEWUSER) != 0) fail("creating a user namespace");
  char map[64];
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  write_file("/proc/self/uid_map", map);
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  write_file("/proc/self/gid_map", map);
}

static void limit(int resource, unsigned long long value, const char *what) {
  struct rlimit rl = {(rlim_t)value, (rlim_t)value};
  if (setrlimit(resource, &rl) != 0) fail(what);
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: oasis-job-init UID GID FSIZE DATA NPROC NOFILE COMMAND [ARG...]\n");
    return EXIT_SETUP;
  }
  int keep_user = strcmp(argv[1], "-") == 0 && strcmp(argv[2], "-") == 0;
  if (!keep_user) {
    unsigned long long uid = number(argv[1], "UID"), gid = number(argv[2], "GID");
    if (uid == 0 || gid == 0 || uid > 0xfffffffe || gid > 0xfffffffe) {
      fprintf(stderr, "oasis-job-init: jobs never run as root or as an unmappable id\n");
      return EXIT_SETUP;
    }
    become((uid_t)uid, (gid_t)gid);
  }
  limit(RLIMIT_FSIZE, number(argv[3], "FSIZE"), "limiting file size");
  limit(RLIMIT_DATA, number(argv[4], "DATA"), "limiting memory");
  limit(RLIMIT_NPROC, number(argv[5], "NPROC"), "limiting processes");
  limit(RLIMIT_NOFILE, number(argv[6], "NOFILE"), "limiting open files");
  limit(RLIMIT_CORE, 0, "turning core dumps off");

  execvp(argv[7], argv + 7);
  int code = errno == ENOENT ? 127 : 126;
  fprintf(stderr, "oasis-job-init: cannot run %s: %s\n", argv[7], strerror(errno));
  return code;
}
