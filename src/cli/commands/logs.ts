import { UsageError } from '../args.js';
import type { LogStream, OasisClient } from '../client.js';
import { type Command, singleId } from './command.js';

export const logs: Command = {
  name: 'logs',
  summary: "print an execution's output",
  usage: `[-f] [--stderr] ID

Prints the job's standard output (its standard error with --stderr) as written so far.
  -f, --follow   keep printing as the job writes, until the execution ends
  --stderr       the job's standard error instead of its standard output`,
  options: {
    follow: { type: 'boolean', short: 'f' },
    stderr: { type: 'boolean' },
  },
  async run(context) {
    if (context.json) throw new UsageError('logs prints raw output; --json does not apply');
    const id = singleId(context);
    const stream: LogStream = context.options.stderr ? 'stderr' : 'stdout';
    const write = (chunk: Uint8Array | string) => void process.stdout.write(chunk);
    if (context.options.follow) await context.client.followLogs(id, stream, 0, write);
    else await printWritten(context.client, id, stream, write);
    return 0;
  },
};

/** Everything written so far: Oasis answers a bounded part per request, so read until nothing is left. */
async function printWritten(
  client: OasisClient,
  id: string,
  stream: LogStream,
  write: (bytes: Uint8Array) => void,
): Promise<void> {
  let offset = 0;
  for (;;) {
    const chunk = await client.readLogs(id, stream, offset);
    if (chunk.bytes.byteLength === 0 || chunk.nextOffset <= offset) return;
    write(chunk.bytes);
    offset = chunk.nextOffset;
  }
}
