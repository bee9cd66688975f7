import { clean, printJson } from '../output.js';
import { type Command, singleId, statusOf } from './command.js';

export const show: Command = {
  name: 'show',
  summary: 'show one execution',
  usage: `ID

Shows an execution: status, exit code, times, cluster, template and job configuration.`,
  options: {},
  async run(context) {
    const id = singleId(context);
    const execution = await context.client.getExecution(id);
    if (context.json) {
      printJson(execution);
      return 0;
    }
    const [template, clusters] = await Promise.all([
      context.client.getTemplate(execution.job_id).catch(() => undefined),
      context.client.listClusters().catch(() => []),
    ]);
    const cluster = clusters.find((c) => c.id === execution.cluster_id);
    const lines: [string, unknown][] = [
      ['id', execution.id],
      ['status', statusOf(execution)],
      ['return code', execution.return_code ?? '-'],
      ['reason', execution.info.reason],
      ['template', template ? `${template.name} (${template.type}, ${template.id})` : execution.job_id],
      ['cluster', cluster ? `${cluster.name} (${cluster.id})` : execution.cluster_id],
      ['engine job', execution.engine_job_id ?? '-'],
      ['created', execution.created_at ?? '-'],
      ['started', execution.start_time ?? '-'],
      ['ended', execution.end_time ?? '-'],
      ['args', execution.job_configs.args?.length ? JSON.stringify(execution.job_configs.args) : undefined],
      [
        'params',
        Object.keys(execution.job_configs.params ?? {}).length
          ? JSON.stringify(execution.job_configs.params)
          : undefined,
      ],
      [
        'configs',
        Object.keys(execution.job_configs.configs ?? {}).length
          ? JSON.stringify(execution.job_configs.configs)
          : undefined,
      ],
    ];
    for (const [label, value] of lines) {
      if (value === undefined) continue;
      process.stdout.write(`${`${label}:`.padEnd(13)}${clean(String(value))}\n`);
    }
    return 0;
  },
};
