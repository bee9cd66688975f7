/**
 * The heavy project of bench/limits.ts, in its own process (forked, messages over IPC) so that
 * building and reading its large bodies never delays the benchmark's own latency measurements.
 * Each of `connections` loops
 * sends, over and over: an execute with job_configs at every limit, a template create at every
 * limit, a page of each of the two lists those requests fill, and the whole list of executions. It starts and stops on the
 * main thread's messages and reports what it did.
 */
export interface HeavyClientData {
  base: string;
  project: string;
  /** Template the executions run, and cluster they are queued on. */
  templateId: string;
  clusterId: string;
  /** 2 × interfaceArgs binary ids: the new templates take the first half as mains, the rest as libs. */
  binaryIds: string[];
  connections: number;
  listLimit: number;
  /** The kinds of request to send (all of them unless given; fewer to profile one). */
  kinds?: HeavyKind[];
  limits: {
    configEntries: number;
    args: number;
    jobConfigsBytes: number;
    interfaceArgs: number;
    jsonBodyBytes: number;
  };
}

export type HeavyMessage = { type: 'setup'; data: HeavyClientData } | { type: 'start' } | { type: 'stop' };

export interface HeavyReport {
  type: 'stopped';
  /** Per kind of request: latencies in ms of every answer, in the order received. */
  latencies: Record<HeavyKind, number[]>;
  /** Bytes sent per request of each kind. */
  bodyBytes: Record<'execute' | 'template', number>;
}

export type HeavyKind = 'execute' | 'template' | 'list executions' | 'list templates' | 'list all executions';

/** `count` keys of `width` characters each with values that fill `bytes` together. */
function filledMap(prefix: string, count: number, bytes: number): Record<string, string> {
  const keyWidth = 24;
  const value = 'v'.repeat(Math.max(1, Math.floor(bytes / count) - keyWidth));
  const map: Record<string, string> = {};
  for (let i = 0; i < count; i += 1) map[`${prefix}${String(i).padStart(keyWidth - prefix.length, '0')}`] = value;
  return map;
}

/** The largest execute body the limits accept: every map and list full, the total just under its bound. */
export function maxExecuteBody(data: Pick<HeavyClientData, 'clusterId' | 'limits'>): string {
  const { configEntries, args, jobConfigsBytes } = data.limits;
  // Three equal shares of the byte budget, less a margin for the keys' rounding.
  const share = Math.floor((jobConfigsBytes - 4096) / 3);
  const argValue = 'a'.repeat(Math.floor(share / args));
  return JSON.stringify({
    cluster_id: data.clusterId,
    job_configs: {
      configs: filledMap('cfg.key.', configEntries, share),
      params: filledMap('P_', configEntries, share),
      args: Array.from({ length: args }, () => argValue),
    },
  });
}

/**
 * A template at every limit: the most interface arguments, mains and libs, long texts, and a
 * description that brings the body to just under the JSON body limit.
 */
export function maxTemplateBody(data: Pick<HeavyClientData, 'binaryIds' | 'limits'>, name: string): string {
  const without = templateBody(data, name, '');
  return templateBody(data, name, 'd'.repeat(data.limits.jsonBodyBytes - Buffer.byteLength(without) - 1024));
}

function templateBody(data: Pick<HeavyClientData, 'binaryIds' | 'limits'>, name: string, description: string): string {
  const half = data.binaryIds.length / 2;
  const text = 't'.repeat(1000);
  return JSON.stringify({
    name,
    type: 'Shell',
    description,
    mains: data.binaryIds.slice(0, half),
    libs: data.binaryIds.slice(half),
    interface: Array.from({ length: data.limits.interfaceArgs }, (_, i) => ({
      name: `argument ${i} ${text.slice(0, 100)}`,
      description: text,
      mapping_type: 'configs',
      location: `config.location.${i}.${text.slice(0, 100)}`,
      value_type: 'string',
      required: false,
      default: text,
    })),
  });
}

async function send(method: string, url: string, body?: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  });
  // Read whole but never parsed: the heavy side's own CPU stays small.
  await response.arrayBuffer();
  if (response.status >= 300) throw new Error(`${method} ${url} answered ${response.status}`);
  return performance.now() - started;
}

function run(): void {
  let data: HeavyClientData;
  let prefix = '';
  let execute = '';
  let templates = 0;
  let running = false;
  let loops: Promise<void>[] = [];
  let latencies: HeavyReport['latencies'];

  const requests: Record<HeavyKind, () => Promise<number>> = {
    execute: () => send('POST', `${prefix}/jobs/${data.templateId}/execute`, execute),
    template: () => send('POST', `${prefix}/jobs`, maxTemplateBody(data, `heavy-${process.pid}-${(templates += 1)}`)),
    'list executions': () => send('GET', `${prefix}/job-executions?limit=${data.listLimit}`),
    'list templates': () => send('GET', `${prefix}/jobs?limit=${data.listLimit}`),
    // As `openstack dataprocessing job list` asks: every row, however many there are by now.
    'list all executions': () => send('GET', `${prefix}/job-executions`),
  };
  const loop = async () => {
    const kinds = data.kinds ?? (Object.keys(requests) as HeavyKind[]);
    while (running) {
      for (const kind of kinds) {
        if (!running) break;
        latencies[kind].push(await requests[kind]());
      }
    }
  };

  process.on('message', (message: HeavyMessage) => {
    if (message.type === 'setup') {
      data = message.data;
      prefix = `${data.base}/v1.1/${data.project}`;
      execute = maxExecuteBody(data);
    } else if (message.type === 'start') {
      latencies = { execute: [], template: [], 'list executions': [], 'list templates': [], 'list all executions': [] };
      running = true;
      loops = Array.from({ length: data.connections }, () => loop());
    } else {
      running = false;
      void Promise.all(loops).then(
        () => {
          const report: HeavyReport = {
            type: 'stopped',
            latencies,
            bodyBytes: { execute: Buffer.byteLength(execute), template: Buffer.byteLength(maxTemplateBody(data, 'x')) },
          };
          process.send!(report);
        },
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
    }
  });
  // Ends with the benchmark.
  process.on('disconnect', () => process.exit(0));
}

if (process.send) run();
