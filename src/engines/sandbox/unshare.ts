import { existsSync, mkdirSync } from 'node:fs';

import { describeConfinement, rlimitPrefix } from './limits.js';
import { outermost, type ConfinementSettings, type JobLimits, type Sandbox, type SandboxedJob } from './sandbox.js';

/** Where a job finds its working directory: inside its private /tmp, the one place mounted anew. */
export const UNSHARE_JOB_DIR = '/tmp/job';

/**
 * Runs as root of the job's new mount namespace, before the job: a fixed script, with every path
 * reaching it only as a positional parameter ("$@"), never as script text. It makes every mount
 * read-only, builds the private /tmp (the working directory inside it, with the staged binaries
 * copied in, and the paths the job is given bound in), hides the data dir and secrets under empty
 * mounts, then runs the job as its own child
 * and exits with its status: this shell is the PID namespace's first process, so the kernel kills
 * whatever the job leaves behind when it exits.
 */
const SETUP_SCRIPT = [
  'set -e',
  'size=$1 staging=$2 holder=$3',
  'shift 3',
  // /proc/self/mounts escapes blanks as \\040; such mount points keep their mode, the rest but the
  // job's own /proc turn read-only.
  'while read -r _ point _; do',
  '  case $point in /proc | /proc/*) continue ;; esac',
  '  mount -n -o remount,bind,ro "$point" 2>/dev/null || :',
  'done < /proc/self/mounts',
  // The new /tmp is built aside, so that paths the job is given inside the old one can be bound in.
  'mount -n -t tmpfs -o "size=$size,mode=1777" oasis-tmp "$holder"',
  `mkdir "$holder/${UNSHARE_JOB_DIR.slice('/tmp/'.length)}"`,
  `cp -pR "$staging/." "$holder/${UNSHARE_JOB_DIR.slice('/tmp/'.length)}/"`,
  // cp -p gave it the staging directory's mode.
  `chmod 1777 "$holder/${UNSHARE_JOB_DIR.slice('/tmp/'.length)}"`,
  'while [ "$1" != -- ]; do',
  '  mode=$1 source=$2',
  '  shift 2',
  '  case $source in /tmp/*) target="$holder/${source#/tmp/}"; mkdir -p "$target" ;; *) target=$source ;; esac',
  '  mount -n --bind "$source" "$target" && mount -n -o "remount,bind,$mode" "$target"',
  'done',
  'shift',
  'mount -n --move "$holder" /tmp',
  'while [ "$1" != -- ]; do',
  '  if [ -d "$1" ]; then mount -n -t tmpfs -o size=4k,mode=0755 oasis-hidden "$1"; else mount -n --bind /dev/null "$1"; fi',
  '  shift',
  'done',
  'shift',
  `cd ${UNSHARE_JOB_DIR}`,
  'set +e',
  '"$@"',
  'exit $?',
].join('\n');

/**
 * The fallback where bubblewrap is missing, from util-linux alone (`unshare`, `setpriv`,
 * `prlimit`, on every Debian and Ubuntu). A job gets new mount, PID, IPC and UTS namespaces (and a
 * user namespace when Oasis is not root): a private /proc and /tmp, every other mount read-only,
 * the data dir and secrets hidden, and the same limits as under bubblewrap. It is weaker in one
 * way: the job sees the rest of the host's files, read-only, with the rights of its user
 * (`OASIS_JOB_USER` under root, Oasis's own user otherwise).
 */
export class UnshareSandbox implements Sandbox {
  readonly kind = 'unshare' as const;
  readonly limits: JobLimits;
  readonly jobOwner: { uid: number; gid: number } | undefined;

  constructor(private readonly settings: ConfinementSettings) {
    this.limits = settings.limits;
    this.jobOwner = settings.jobOwner;
  }

  get description(): string {
    return describeConfinement(
      "unshare (bubblewrap is missing; the host's files stay visible, read-only)",
      this.settings,
    );
  }

  jobDir(): string {
    return UNSHARE_JOB_DIR;
  }

  wrap(job: SandboxedJob): string[] {
    const { limits, network, jobOwner, hiddenPaths } = this.settings;
    const args = ['/usr/bin/unshare', '--mount', '--pid', '--fork', '--kill-child', '--mount-proc', '--ipc', '--uts'];
    if (!network) args.push('--net');
    if (!jobOwner) args.push('--user', '--map-root-user');
    // An empty directory beside the working directory, where the new /tmp is built.
    const holder = `${job.workDir}.tmp`;
    mkdirSync(holder, { recursive: true, mode: 0o700 });
    args.push('--', '/bin/sh', '-c', SETUP_SCRIPT, 'oasis-sandbox', String(limits.diskBytes), job.workDir, holder);
    for (const dir of [...this.settings.readOnlyPaths, ...(job.readOnlyPaths ?? [])]) args.push('ro', dir);
    for (const dir of [...this.settings.writablePaths, ...(job.writablePaths ?? [])]) args.push('rw', dir);
    args.push('--', ...outermost(hiddenPaths).filter((hidden) => existsSync(hidden)), '--');
    const drop = ['--inh-caps=-all', '--bounding-set=-all', '--no-new-privs'];
    if (jobOwner) {
      const { uid, gid } = jobOwner;
      args.push('/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...drop, '--');
      // A user namespace of its own makes the process limit count this job's processes only.
      args.push('/usr/bin/unshare', '--user', `--map-user=${uid}`, `--map-group=${gid}`, '--');
    } else {
      args.push('/usr/bin/setpriv', ...drop, '--');
    }
    return [...args, ...rlimitPrefix(limits), ...job.command];
  }
}
