import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

/** Logs two lines through main.ts's logger in a fresh process, as `oasis serve` would. */
const LOG_TWO_LINES = `
import { loadConfig } from './src/config.ts';
import { createLogger } from './src/main.ts';
const logger = createLogger(loadConfig());
logger.info({ executionId: 'e-1' }, 'job started');
logger.warn('engine unreachable');
`;

async function logsOf(env: Record<string, string>, { terminal = false } = {}): Promise<string> {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', LOG_TWO_LINES];
  const options = {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
  };
  if (!terminal) return (await run(node[0]!, node.slice(1), options)).stdout;
  // util-linux's script gives the process a pseudo-terminal as its stdout.
  const command = node.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  return (await run('script', ['-qec', command, '/dev/null'], options)).stdout;
}

describe('server logs', () => {
  test('are JSON lines when stdout is not a terminal', async () => {
    const lines = (await logsOf({})).trim().split('\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    const [started, warned] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(started!.msg, 'job started');
    assert.equal(started!.executionId, 'e-1');
    assert.equal(started!.level, 30);
    assert.equal(started!.service, 'oasis');
    assert.equal(warned!.level, 40);
  });

  test('are readable, coloured lines on a terminal, unless OASIS_LOG_FORMAT=json asks for JSON', async () => {
    const output = await logsOf({}, { terminal: true });
    const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
    assert.notEqual(plain, output, 'coloured');
    assert.match(
      plain,
      /^\[[0-9:.]+\] INFO: job started\r?\n {4}executionId: "e-1"\r?\n\[[0-9:.]+\] WARN: engine unreachable/,
    );
    const forced = (await logsOf({ OASIS_LOG_FORMAT: 'json' }, { terminal: true })).trim().split(/\r?\n/);
    assert.equal((JSON.parse(forced[0]!) as { msg: string }).msg, 'job started');
  });
});
