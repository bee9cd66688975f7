import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isTerminal } from '../../store/statuses.js';
import { pairs, UsageError } from '../args.js';
import { ClientError, type Execution, type OasisClient } from '../client.js';
import { printJson, Progress } from '../output.js';
import { type Command, CommandExit, statusOf } from './command.js';

/** Exit codes of `oasis run` beyond the job's own (documented in docs/cli.md). */
export const RUN_EXIT = {
  /** Oasis refused the job or could not start it (status FAILED), or the CLI could not reach Oasis. */
  failed: 125,
  /** The execution was cancelled (status KILLED). */
  killed: 130,
} as const;

/** Job types `run` builds a template for, by the script's extension. */
const TYPES: Record<string, string> = { '.sh': 'Shell' };

export const run: Command = {
  name: 'run',
  summary: 'run a script on a cluster, stream its output and exit with its code',
  usage: `[--cluster NAME|ID] [--param KEY=VALUE]… [--detach] SCRIPT [ARGS…]

Uploads SCRIPT (a job binary), creates a Shell job template for it, executes it on the cluster with
ARGS as its arguments, prints its standard output and standard error as they are written, and
exits with the job's exit code. Everything after SCRIPT is passed to the job unchanged.
  --cluster NAME|ID    the cluster to run on (default: local, the built-in one)
  --param KEY=VALUE    an environment variable for the job (repeatable)
  --detach             print the execution id and exit without waiting

Only shell scripts (.sh) are supported; Java, Spark and MapReduce jobs need their own templates,
created through the API (see docs/cli.md).
Exit codes: the job's own code; ${RUN_EXIT.failed} when Oasis refused or could not start the job
(FAILED); ${RUN_EXIT.killed} when it was cancelled (KILLED; Ctrl-C cancels it, a second Ctrl-C
leaves without waiting).`,
  options: {
    cluster: { type: 'string' },
    param: { type: 'string', multiple: true },
    detach: { type: 'boolean', short: 'd' },
  },
  stopAtPositional: true,
  async run(context) {
    const [script, ...args] = context.positionals;
    if (!script) throw new UsageError('a script to run is needed');
    const type = TYPES[path.extname(script).toLowerCase()];
    if (!type) {
      throw new UsageError(
        `oasis run runs shell scripts (.sh); ${JSON.stringify(script)} is not one. Other job types: see docs/cli.md`,
      );
    }
    const params = pairs(context.options.param as string[] | undefined, 'param');
    const data = await readFile(script).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${script}: ${error.code ?? error.message}`);
    });
    const { client } = context;
    const progress = new Progress();
    try {
      progress.show(`uploading ${path.basename(script)}`);
      const cluster = await findCluster(client, (context.options.cluster as string | undefined) ?? 'local');
      const name = uniqueName(script);
      const binary = await client.uploadBinary(name, data);
      const template = await client.createTemplate({ name: name.replace(/\.[^.]*$/, ''), type, mains: [binary] });
      const started = await client.execute(template.id, { cluster_id: cluster.id, job_configs: { args, params } });
      if (context.options.detach) {
        progress.clear();
        if (context.json) printJson(started);
        else process.stdout.write(`${started.id}\n`);
        return 0;
      }
      if (process.stderr.isTTY && !context.json) process.stderr.write(`execution ${started.id} on ${cluster.name}\n`);
      const execution = await follow(client, started, progress, !context.json);
      progress.clear();
      if (context.json) printJson(execution);
      return exitCodeOf(execution);
    } finally {
      progress.clear();
    }
  },
};

/** The exit code `oasis run` ends with for a terminal execution. */
export function exitCodeOf(execution: Execution): number {
  switch (statusOf(execution)) {
    case 'SUCCEEDED':
      return 0;
    case 'KILLED':
      return RUN_EXIT.killed;
    case 'DONEWITHERROR': {
      const code = Number(execution.return_code ?? execution.info.exit_code);
      // An exit status is a byte; a code that is not one (or is 0 for an error) still means failure.
      return Number.isInteger(code) && code > 0 && code < 256 ? code : 1;
    }
    default:
      return RUN_EXIT.failed;
  }
}

async function findCluster(client: OasisClient, wanted: string) {
  const clusters = await client.listClusters();
  const cluster = clusters.find((c) => c.id === wanted) ?? clusters.find((c) => c.name === wanted);
  if (!cluster)
    throw new ClientError(
      `no cluster ${JSON.stringify(wanted)}; this project sees: ${clusters.map((c) => c.name).join(', ') || 'none'}`,
    );
  return cluster;
}

/** Names are unique per project: the script's name plus a random suffix, within Sahara's name rules. */
function uniqueName(script: string): string {
  const extension = path.extname(script).toLowerCase();
  const base =
    path
      .basename(script, path.extname(script))
      .replace(/[^a-zA-Z0-9\-_.]/g, '_')
      .replace(/^[^a-zA-Z0-9]+/, '')
      .slice(0, 40) || 'job';
  return `${base}-${randomBytes(4).toString('hex')}${extension}`;
}

/**
 * Streams the job's output until the execution is terminal, then answers it. Ctrl-C cancels the
 * execution and keeps following until it ends; a second Ctrl-C leaves at once.
 */
async function follow(client: OasisClient, started: Execution, progress: Progress, print: boolean): Promise<Execution> {
  const leave = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      progress.show(`cancelling ${started.id}`);
      client
        .cancelExecution(started.id)
        .catch((error: unknown) => process.stderr.write(`cancel failed: ${(error as Error).message}\n`));
    } else leave.abort();
  };
  process.on('SIGINT', onInterrupt);
  progress.show(`${started.id}: waiting for the job's output`);
  const offsets = { stdout: 0, stderr: 0 };
  const sinks = { stdout: process.stdout, stderr: process.stderr };
  try {
    for (;;) {
      await Promise.all(
        (['stdout', 'stderr'] as const).map(async (stream) => {
          offsets[stream] = await client.followLogs(
            started.id,
            stream,
            offsets[stream],
            (chunk) => {
              if (!print) return;
              progress.clear();
              sinks[stream].write(chunk);
            },
            leave.signal,
          );
        }),
      );
      const execution = await client.getExecution(started.id);
      if (isTerminal(statusOf(execution))) return execution;
      // The stream ended early (Oasis restarting): follow again from where it stopped.
    }
  } catch (error) {
    if (leave.signal.aborted)
      throw new CommandExit(`left without waiting; execution ${started.id} may still be running`, RUN_EXIT.killed);
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
