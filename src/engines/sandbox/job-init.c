/*
 * oasis-job-init: the last step of a job's sandbox, run by bubblewrap inside the job's new
 * namespaces, just before the job itself. In one small program it does what util-linux's setpriv,
 * unshare and prlimit otherwise do in three: every exec of a dynamically linked program costs a
 * job's start about a millisecond.
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
 * COMMAND is looked up on the job's PATH as a shell would; 127 when it is not found, 126 when it
 * cannot run.
 *
 * It is built without the C library (-nostdlib, system calls made directly): a static glibc
 * program alone costs every job's start 0.7 ms of start-up code, this one almost nothing.
 */
#include <asm/unistd.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <linux/resource.h>
#include <linux/sched.h>

#define EXIT_SETUP 125
#define AT_FDCWD_ (-100)
#define O_WRONLY_ 01
#define O_CLOEXEC_ 02000000
#define ENOENT_ 2
#define EACCES_ 13
#define ENOTDIR_ 20
#define EINVAL_ 22
#define PATH_MAX_ 4096

typedef unsigned long u64;

#if defined(__x86_64__)
static long syscall6(long n, long a, long b, long c, long d, long e, long f) {
  long result;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return result;
}
__asm__(".text\n.globl _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call start\n hlt\n");
#elif defined(__aarch64__)
static long syscall6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
__asm__(".text\n.globl _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n and sp, x0, #-16\n bl start\n");
#else
#error "oasis-job-init supports x86-64 and AArch64; elsewhere Oasis starts jobs through util-linux"
#endif

#define sys(n, a, b, c) syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys5(n, a, b, c, d, e) syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* The compiler may emit calls to these for plain assignments and loops. */
void *memset(void *target, int value, u64 length) {
  unsigned char *bytes = target;
  while (length--) *bytes++ = (unsigned char)value;
  return target;
}
void *memcpy(void *target, const void *source, u64 length) {
  unsigned char *to = target;
  const unsigned char *from = source;
  while (length--) *to++ = *from++;
  return target;
}

static u64 length_of(const char *text) {
  u64 length = 0;
  while (text[length]) length++;
  return length;
}

static int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/* Appends the decimal digits of `value` at `at`; returns the end. */
static char *digits(char *at, u64 value) {
  char reversed[24];
  int count = 0;
  do reversed[count++] = (char)('0' + value % 10), value /= 10;
  while (value);
  while (count) *at++ = reversed[--count];
  return at;
}

static void say(const char *a, const char *b, const char *c) {
  const char *parts[] = {"oasis-job-init: ", a, b, c, "\n"};
  for (int i = 0; i < 5; i++)
    if (parts[i]) sys(__NR_write, 2, parts[i], length_of(parts[i]));
}

static __attribute__((noreturn)) void leave(int code) {
  for (;;) sys(__NR_exit_group, code, 0, 0);
}

/* Stops with the failed step and the kernel's error number (errno(3) names it). */
static __attribute__((noreturn)) void fail(const char *what, long error) {
  char text[32] = ": errno ";
  *digits(text + length_of(text), (u64)-error) = '\0';
  say(what, text, 0);
  leave(EXIT_SETUP);
}

static void check(long result, const char *what) {
  if (result < 0) fail(what, result);
}

static u64 number(const char *text, const char *what) {
  u64 value = 0;
  const char *at = text;
  if (!*at) goto bad;
  for (; *at; at++) {
    if (*at < '0' || *at > '9' || value > (~0UL - 9) / 10) goto bad;
    value = value * 10 + (u64)(*at - '0');
  }
  return value;
bad:
  say(what, " is not a number: ", text);
  leave(EXIT_SETUP);
}

static void write_file(const char *path, const char *text) {
  long fd = sys5(__NR_openat, AT_FDCWD_, path, O_WRONLY_ | O_CLOEXEC_, 0, 0);
  check(fd, path);
  u64 length = length_of(text);
  long written = sys(__NR_write, fd, text, length);
  if (written != (long)length) fail(path, written < 0 ? written : -EINVAL_);
  sys(__NR_close, fd, 0, 0);
}

/* "ID ID 1\n": the one id the namespace maps, to itself. */
static void write_map(const char *path, u64 id) {
  char map[64];
  char *at = digits(map, id);
  *at++ = ' ';
  at = digits(at, id);
  *at++ = ' ';
  *at++ = '1';
  *at++ = '\n';
  *at = '\0';
  write_file(path, map);
}

static void become(u64 uid, u64 gid) {
  for (long cap = 0; cap <= 63; cap++) {
    long result = sys(__NR_prctl, PR_CAPBSET_DROP, cap, 0);
    if (result < 0 && result != -EINVAL_) fail("dropping the capability bounding set", result);
  }
  long ambient = sys(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);
  if (ambient < 0 && ambient != -EINVAL_) fail("clearing ambient capabilities", ambient);
  check(sys(__NR_setgroups, 0, 0, 0), "clearing supplementary groups");
  check(sys(__NR_setresgid, gid, gid, gid), "setting the group");
  check(sys(__NR_setresuid, uid, uid, uid), "setting the user");
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct none[2] = {{0, 0, 0}, {0, 0, 0}};
  check(sys(__NR_capset, &header, none, 0), "clearing capabilities");
  check(sys(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0), "setting no_new_privs");
  // A change of user makes the process undumpable, which gives its /proc files to root; it must
  // write its own uid_map below. The job's exec sets this anew.
  check(sys(__NR_prctl, PR_SET_DUMPABLE, 1, 0), "making /proc/self writable");

  check(sys(__NR_unshare, CLONE_NEWUSER, 0, 0), "creating a user namespace");
  write_file("/proc/self/setgroups", "deny");
  write_map("/proc/self/uid_map", uid);
  write_map("/proc/self/gid_map", gid);
}

static void limit(int resource, u64 value, const char *what) {
  struct rlimit64 wanted = {value, value};
  check(sys5(__NR_prlimit64, 0, resource, &wanted, 0, 0), what);
}

/* execvp(3): a name without a slash is looked up in the job's PATH, as a shell would. */
static __attribute__((noreturn)) void run(char **argv, char **envp) {
  const char *name = argv[0];
  long error = -ENOENT_;
  int has_slash = 0;
  for (const char *at = name; *at; at++) has_slash |= *at == '/';
  if (has_slash || !*name) {
    error = sys(__NR_execve, name, argv, envp);
  } else {
    const char *search = "/usr/local/bin:/usr/bin:/bin";
    for (char **entry = envp; *entry; entry++) {
      const char *e = *entry;
      if (e[0] == 'P' && e[1] == 'A' && e[2] == 'T' && e[3] == 'H' && e[4] == '=') search = e + 5;
    }
    int denied = 0;
    char candidate[PATH_MAX_];
    u64 name_length = length_of(name);
    for (const char *dir = search;;) {
      const char *end = dir;
      while (*end && *end != ':') end++;
      u64 dir_length = (u64)(end - dir);
      if (dir_length + 1 + name_length < sizeof candidate) {
        char *at = candidate;
        if (dir_length == 0) *at++ = '.';
        for (const char *from = dir; from < end; from++) *at++ = *from;
        *at++ = '/';
        for (u64 i = 0; i <= name_length; i++) *at++ = name[i];
        long result = sys(__NR_execve, candidate, argv, envp);
        if (result == -EACCES_) denied = 1;
        else if (result != -ENOENT_ && result != -ENOTDIR_) {
          error = result;
          break;
        }
      }
      if (!*end) {
        if (denied) error = -EACCES_;
        break;
      }
      dir = end + 1;
    }
  }
  char text[32] = ": errno ";
  *digits(text + length_of(text), (u64)-error) = '\0';
  say("cannot run ", name, text);
  leave(error == -ENOENT_ ? 127 : 126);
}

__attribute__((used, noreturn)) void start(long *stack) {
  long argc = stack[0];
  char **argv = (char **)(stack + 1);
  char **envp = argv + argc + 1;
  if (argc < 8) {
    say("usage: oasis-job-init UID GID FSIZE DATA NPROC NOFILE COMMAND [ARG...]", 0, 0);
    leave(EXIT_SETUP);
  }
  if (!(same(argv[1], "-") && same(argv[2], "-"))) {
    u64 uid = number(argv[1], "UID"), gid = number(argv[2], "GID");
    if (uid == 0 || gid == 0 || uid > 0xfffffffeUL || gid > 0xfffffffeUL) {
      say("jobs never run as root or as an unmappable id", 0, 0);
      leave(EXIT_SETUP);
    }
    become(uid, gid);
  }
  limit(RLIMIT_FSIZE, number(argv[3], "FSIZE"), "limiting file size");
  limit(RLIMIT_DATA, number(argv[4], "DATA"), "limiting memory");
  limit(RLIMIT_NPROC, number(argv[5], "NPROC"), "limiting processes");
  limit(RLIMIT_NOFILE, number(argv[6], "NOFILE"), "limiting open files");
  limit(RLIMIT_CORE, 0, "turning core dumps off");
  run(argv + 7, envp);
}
