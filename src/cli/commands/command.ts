import { type OptionSpecs, UsageError } from '../args.js';
import type { Connection, OasisClient } from '../client.js';

/** What a client command is given: a client of the configured Oasis and its parsed arguments. */
export interface CommandContext {
  client: OasisClient;
  connection: Connection;
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  json: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** The help text after the usage line's `oasis <name>`. */
  usage: string;
  options: OptionSpecs;
  /** Options end at the first positional argument (`run`: the rest belongs to the job). */
  stopAtPositional?: boolean;
  run(context: CommandContext): Promise<number>;
}

/** Ends a command with a message on stderr and a specific exit code. */
export class CommandExit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'CommandExit';
  }
}

export const DEFAULT_URL = 'http://127.0.0.1:8386';

/** Flags win over the environment (OASIS_URL, OASIS_PROJECT, OASIS_TOKEN). */
export function connectionOf(options: CommandContext['options'], env: NodeJS.ProcessEnv): Connection {
  const url = (options.url as string | undefined) ?? env.OASIS_URL ?? DEFAULT_URL;
  const project = (options.project as string | undefined) ?? env.OASIS_PROJECT;
  const token = (options.token as string | undefined) ?? env.OASIS_TOKEN;
  if (!project) throw new UsageError('no project: set OASIS_PROJECT or pass --project');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`OASIS_URL / --url must be an http(s) URL, not ${JSON.stringify(url)}`);
  }
  return { url, project, ...(token ? { token } : {}) };
}

/** The one positional argument a command takes (an execution id). */
export function singleId(context: CommandContext): string {
  const [id, ...rest] = context.positionals;
  if (!id) throw new UsageError('an execution id is needed');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  return id;
}

/** The status a client shows: info.status is what Sahara clients read. */
export function statusOf(execution: { info: { status?: string } }): string {
  return typeof execution.info.status === 'string' ? execution.info.status : 'UNKNOWN';
}

export const CONNECTION_HELP = `connection (flags win over the environment):
  --url URL          Oasis's address (OASIS_URL, default ${DEFAULT_URL})
  --project ID       the project (OASIS_PROJECT)
  --token TOKEN      X-Auth-Token under tokens auth (OASIS_TOKEN)
  --json             machine-readable output
  -h, --help         this help`;
