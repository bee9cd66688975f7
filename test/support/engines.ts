import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Engine } from '../../src/engines/engine.js';
import { createSparkEngine } from '../../src/engines/spark/index.js';
import { createYarnEngine } from '../../src/engines/yarn/index.js';
import type { EngineKind } from '../../src/store/types.js';
import { jobSandbox } from './sandbox.js';

/** A port nothing listens on (discard): clusters registered there never answer. */
export const UNREACHABLE_YARN = { resourcemanager: 'http://127.0.0.1:9', namenode: 'hdfs://127.0.0.1:9' } as const;
export const UNREACHABLE_SPARK = { master: 'spark://127.0.0.1:9', rest_url: 'http://127.0.0.1:9' } as const;

export interface ClusterEngines {
  /** The real YARN and Spark engines, to add to a test app's local engine. */
  engines: ReadonlyMap<EngineKind, Engine>;
  /** Removes the engines' work directory (after the app that uses them is closed). */
  remove(): Promise<void>;
}

/**
 * The real engines of registered clusters, working in a fresh directory. Tests that only need
 * their execute-time checks register clusters at UNREACHABLE_* addresses (or not Active), so
 * executions stay PENDING: the launcher skips clusters that are not Active, and an engine that
 * cannot reach its cluster answers TransientEngineError, which is retried, never a failure.
 */
export async function clusterEngines(): Promise<ClusterEngines> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'oasis-engines-'));
  const engines = new Map<EngineKind, Engine>([
    ['yarn', createYarnEngine({ workDir: path.join(workDir, 'yarn'), nodeId: 'test-node' })],
    [
      'spark',
      createSparkEngine({
        workDir: path.join(workDir, 'spark'),
        nodeId: 'test-node',
        killGraceMs: 2_000,
        sandbox: jobSandbox(),
      }),
    ],
  ]);
  return { engines, remove: () => rm(workDir, { recursive: true, force: true }) };
}
