import { randomInt } from 'node:crypto';
import { JobStartError, type JobFile, type JobSpec } from '../engines/engine.js';
import { isUuidLike } from '../store/ids.js';
import type {
  ConfigValue,
  DataSourceRecord,
  JobConfigs,
  JobExecutionRecord,
  JobTemplateRecord,
  Store,
} from '../store/types.js';

const INTERNAL_DB = 'internal-db://';

/** The template's mains and libs as files an engine can read (internal-db:// from the store). */
export async function jobFilesOf(
  store: Store,
  template: JobTemplateRecord,
): Promise<{ mains: JobFile[]; libs: JobFile[] }> {
  const load = async (id: string): Promise<JobFile> => {
    const binary = await store.jobBinaries.get(id);
    if (!binary) throw new JobStartError(`Job binary ${id} of template ${template.name} no longer exists`);
    return {
      name: binary.name,
      url: binary.url,
      read: async () => {
        if (!binary.url.startsWith(INTERNAL_DB)) {
          throw new JobStartError(`Job binary ${binary.name}: ${binary.url} must be fetched by the engine`);
        }
        const data = await store.jobBinaryInternals.getData(binary.url.slice(INTERNAL_DB.length));
        if (!data)
          throw new JobStartError(
            `Job binary ${binary.name}: the internal binary behind ${binary.url} no longer exists`,
          );
        return data;
      },
    };
  };
  return {
    mains: await Promise.all(template.mains.map(load)),
    libs: await Promise.all(template.libs.map(load)),
  };
}

/** A JobSpec from the stored (or about-to-be-stored) configs, without data-source substitution. */
export function specOf(
  executionId: string,
  template: JobTemplateRecord,
  files: { mains: JobFile[]; libs: JobFile[] },
  jobConfigs: JobConfigs,
  input: DataSourceRecord | undefined,
  output: DataSourceRecord | undefined,
): JobSpec {
  return {
    executionId,
    jobType: template.type,
    templateName: template.name,
    mains: files.mains,
    libs: files.libs,
    configs: { ...(jobConfigs.configs ?? {}) },
    params: { ...(jobConfigs.params ?? {}) },
    args: [...(jobConfigs.args ?? [])],
    inputUrl: input ? input.url : null,
    outputUrl: output ? output.url : null,
  };
}

export interface PreparedJob {
  spec: JobSpec;
  /** `{data_source_id: runtime url}` for input, output and every substituted reference. */
  dataSourceUrls: Record<string, string>;
}

/**
 * Resolves an execution into the job an engine runs, at launch time: binaries, input/output
 * URLs with their placeholders filled in, and data-source references substituted
 * (docs/compatibility.md#data-source-urls-and-substitution). Throws JobStartError when something the execution refers to has disappeared.
 */
export async function prepareJob(
  store: Store,
  execution: JobExecutionRecord,
  template: JobTemplateRecord,
): Promise<PreparedJob> {
  const files = await jobFilesOf(store, template);
  const urls = new RuntimeUrls(execution.id);

  const dataSource = async (id: string | null, role: string) => {
    if (id === null) return undefined;
    const found = await store.dataSources.get(id);
    if (!found) throw new JobStartError(`The ${role} data source ${id} no longer exists`);
    return found;
  };
  const input = await dataSource(execution.input_id, 'input');
  const output = await dataSource(execution.output_id, 'output');

  const spec = specOf(execution.id, template, files, execution.job_configs, input, output);
  if (input) spec.inputUrl = urls.of(input);
  if (output) spec.outputUrl = urls.of(output);

  const configs = execution.job_configs.configs ?? {};
  const byName = substitutionEnabled(configs['edp.substitute_data_source_for_name']);
  const byUuid = substitutionEnabled(configs['edp.substitute_data_source_for_uuid']);
  if (byName || byUuid) {
    const substitute = async (value: ConfigValue): Promise<ConfigValue> => {
      if (typeof value !== 'string') return value;
      let found: DataSourceRecord | undefined;
      if (byName && value.startsWith('datasource://')) {
        const matches = await store.dataSources.findByName(execution.tenant_id, value.slice('datasource://'.length));
        if (matches.length === 1) found = matches[0];
      } else if (byUuid && isUuidLike(value)) {
        const candidate = await store.dataSources.get(value);
        if (candidate && (candidate.tenant_id === execution.tenant_id || candidate.is_public === true))
          found = candidate;
      }
      return found ? urls.of(found) : value;
    };
    for (const map of [spec.configs, spec.params]) {
      for (const [key, value] of Object.entries(map)) map[key] = await substitute(value);
    }
    spec.args = await Promise.all(spec.args.map(async (arg) => String(await substitute(arg))));
  }
  return { spec, dataSourceUrls: urls.used };
}

/** Sahara counts only JSON true or the exact string "True" (docs/compatibility.md#special-configs). */
function substitutionEnabled(value: ConfigValue | undefined): boolean {
  return value === true || value === 'True';
}

/** Runtime URLs of data sources, one per data source per execution. */
class RuntimeUrls {
  readonly used: Record<string, string> = {};

  constructor(private readonly executionId: string) {}

  of(source: DataSourceRecord): string {
    this.used[source.id] ??= runtimeUrl(resolvePlaceholders(source.url, this.executionId));
    return this.used[source.id]!;
  }
}

/** `%JOB_EXEC_ID%` → the execution id; `%RANDSTR(n)%` → n random lowercase letters. */
export function resolvePlaceholders(url: string, executionId: string): string {
  return url
    .replace(/%JOB_EXEC_ID%/g, executionId)
    .replace(/%RANDSTR\((\d+)\)%/g, (_match, n: string) =>
      Array.from({ length: Number(n) }, () => String.fromCharCode(97 + randomInt(26))).join(''),
    );
}

/** Hadoop reads S3 through the s3a connector. */
function runtimeUrl(url: string): string {
  return url.startsWith('s3://') ? `s3a://${url.slice('s3://'.length)}` : url;
}
