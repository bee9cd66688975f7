import type { JobConfigs } from '../store/types.js';

/** Config keys whose values are secrets: kept, but blanked in responses (docs/compatibility.md#secrets-in-answers). */
const SECRET_CONFIGS = [
  'fs.swift.service.sahara.username',
  'fs.swift.service.sahara.password',
  'fs.s3a.access.key',
  'fs.s3a.secret.key',
];

/** job_configs as clients see them: secrets blanked, trust and proxy sections removed. */
export function sanitizeJobConfigs(jobConfigs: JobConfigs): JobConfigs {
  const { trusts: _trusts, proxy_configs: _proxy, ...rest } = jobConfigs;
  if (!rest.configs) return rest;
  const configs = { ...rest.configs };
  for (const key of SECRET_CONFIGS) if (key in configs) configs[key] = '';
  return { ...rest, configs };
}

/** info as clients see them: `status` always present, Oozie action `conf` removed. */
export function sanitizeInfo(info: Record<string, unknown>, status: string): Record<string, unknown> {
  const result: Record<string, unknown> = { ...info, status: typeof info.status === 'string' ? info.status : status };
  if (Array.isArray(info.actions)) {
    result.actions = info.actions.map((action: unknown) => {
      if (typeof action !== 'object' || action === null) return action;
      const { conf: _conf, ...kept } = action as Record<string, unknown>;
      return kept;
    });
  }
  return result;
}
