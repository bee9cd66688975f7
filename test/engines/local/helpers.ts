import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Engine, EngineJobRef, EngineStatus, JobFile, JobSpec } from '../../../src/engines/engine.js';
import { createLocalEngine } from '../../../src/engines/local/index.js';
import type { Sandbox } from '../../../src/engines/sandbox/index.js';
import { logPaths } from '../../../src/engines/local/index.js';
import type { ClusterRecord } from '../../../src/store/types.js';
import { isTerminal } from '../../../src/store/statuses.js';
import { eventually } from '../../support/eventually.js';
import { jobSandbox } from '../../support/sandbox.js';

export { eventually };

export const NODE = 'test-node';

export const cluster: ClusterRecord = {
  id: '5f9d3c5e-0000-4000-8000-000000000001',
  tenant_id: 'tenant',
  is_public: false,
  is_protected: false,
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: null,
  name: 'local',
  description: '',
  plugin_name: 'local',
  hadoop_version: '1',
  engine: 'local',
  status: 'Active',
  status_description: '',
  cluster_configs: {},
};

export function binary(name: string, contents: string | Buffer): JobFile {
  return {
    name,
    url: `internal-db://${name}-id`,
    read: async () => (typeof contents === 'string' ? Buffer.from(contents) : contents),
  };
}

let counter = 0;
export function shellJob(script: string, overrides: Partial<JobSpec> = {}): JobSpec {
  counter += 1;
  return {
    executionId: `exec-${process.pid}-${counter}-${Date.now()}`,
    jobType: 'Shell',
    templateName: 'tmpl',
    mains: [binary('main.sh', script)],
    libs: [],
    configs: {},
    params: {},
    args: [],
    inputUrl: null,
    outputUrl: null,
    ...overrides,
  };
}

export interface EngineFixture {
  workDir: string;
  engine: Engine;
  /** Another engine instance on the same work dir and node: a restarted Oasis. */
  newEngine: () => Promise<Engine>;
  /** Submits through `engine` (the fixture's own by default) and remembers the job for dispose. */
  submit: (job: JobSpec, engine?: Engine) => Promise<EngineJobRef>;
  /** Kills what is left, closes every engine, removes the work dir. */
  dispose: () => Promise<void>;
}

export async function engineFixture(killGraceMs = 500, sandbox: Sandbox = jobSandbox()): Promise<EngineFixture> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'oasis-local-'));
  const engines: Engine[] = [];
  const refs: EngineJobRef[] = [];
  const newEngine = async (): Promise<Engine> => {
    const engine = await createLocalEngine({ workDir, nodeId: NODE, killGraceMs, sandbox });
    engines.push(engine);
    return engine;
  };
  const engine = await newEngine();
  return {
    workDir,
    engine,
    newEngine,
    submit: async (job, through = engine) => {
      const submission = await through.submit(job, cluster);
      const ref = { executionId: job.executionId, engineJobId: submission.engineJobId, extra: submission.extra };
      refs.push(ref);
      return ref;
    },
    dispose: async () => {
      const cleaner = await newEngine();
      for (const ref of refs) await cleaner.cleanup(ref, cluster);
      for (const e of engines) await e.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

export async function finalStatus(engine: Engine, ref: EngineJobRef): Promise<EngineStatus> {
  return eventually(async () => {
    const status = await engine.status(ref, cluster);
    return isTerminal(status.status) ? status : undefined;
  }, `the end of ${ref.executionId}`);
}

export async function output(workDir: string, executionId: string): Promise<{ stdout: string; stderr: string }> {
  const paths = logPaths(workDir, executionId);
  return { stdout: await readFile(paths.stdout, 'utf8'), stderr: await readFile(paths.stderr, 'utf8') };
}

export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
