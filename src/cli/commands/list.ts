import { UsageError } from '../args.js';
import { type Cluster, ClientError, type Execution, type OasisClient } from '../client.js';
import { printJson, table } from '../output.js';
import { type Command, statusOf } from './command.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const list: Command = {
  name: 'list',
  summary: "list the project's executions, newest first",
  usage: `[--status STATUS] [--cluster NAME|ID] [--job NAME] [--limit N]

Lists executions, newest first, as a table fitted to the terminal (or JSON with --json).
  --status STATUS    only this status (PENDING, RUNNING, SUCCEEDED, DONEWITHERROR, FAILED, KILLED…)
  --cluster NAME|ID  only executions on this cluster
  --job NAME         only executions of templates whose name contains NAME
  --limit N          show at most N executions (default 50; 0 shows all)`,
  options: {
    status: { type: 'string' },
    cluster: { type: 'string' },
    job: { type: 'string' },
    limit: { type: 'string' },
  },
  async run(context) {
    if (context.positionals.length > 0) throw new UsageError(`unexpected argument ${context.positionals[0]}`);
    const { status, cluster, job } = context.options as Record<string, string | undefined>;
    const limit = limitOf(context.options.limit as string | undefined);
    const clusters = await context.client.listClusters();
    const filters: Record<string, string | undefined> = { status, 'job.name': job };
    if (cluster !== undefined) {
      const match = clusters.find((c) => c.id === cluster || c.name === cluster);
      if (!match && !UUID.test(cluster)) throw new ClientError(`no cluster named ${JSON.stringify(cluster)}`);
      filters.cluster_id = match?.id ?? cluster;
    }
    const rows = (await context.client.listExecutions(filters)).sort(newestFirst);
    const shown = limit === 0 ? rows : rows.slice(0, limit);
    if (context.json) {
      printJson(shown);
      return 0;
    }
    if (shown.length === 0) {
      process.stderr.write('no executions\n');
      return 0;
    }
    const templates = await templateNames(context.client, shown);
    const clusterNames = new Map(clusters.map((c: Cluster) => [c.id, c.name]));
    const width = process.stdout.isTTY ? process.stdout.columns : undefined;
    process.stdout.write(
      `${table(
        shown,
        [
          { title: 'ID', value: (e) => e.id },
          { title: 'STATUS', value: statusOf },
          { title: 'RC', value: (e) => e.return_code ?? '-', drop: 1 },
          { title: 'JOB', value: (e) => templates.get(e.job_id) ?? e.job_id, shrinks: true },
          { title: 'CLUSTER', value: (e) => clusterNames.get(e.cluster_id) ?? e.cluster_id, drop: 2 },
          { title: 'STARTED', value: (e) => e.start_time ?? '-', drop: 4 },
          { title: 'ENDED', value: (e) => e.end_time ?? '-', drop: 3 },
        ],
        width,
      )}\n`,
    );
    if (shown.length < rows.length) process.stderr.write(`(${rows.length - shown.length} more; --limit 0 shows all)\n`);
    return 0;
  },
};

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return 50;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--limit takes a number, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

function newestFirst(a: Execution, b: Execution): number {
  return (b.created_at ?? '').localeCompare(a.created_at ?? '') || a.id.localeCompare(b.id);
}

/** The template names of the shown rows, a few requests at a time; an unreadable one shows its id. */
async function templateNames(client: OasisClient, rows: readonly Execution[]): Promise<Map<string, string>> {
  const ids = [...new Set(rows.map((row) => row.job_id))];
  const names = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 8) {
    await Promise.all(
      ids.slice(i, i + 8).map(async (id) => {
        const template = await client.getTemplate(id).catch(() => undefined);
        if (template) names.set(id, template.name);
      }),
    );
  }
  return names;
}
