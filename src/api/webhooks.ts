import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { ApiError, notFound } from '../errors.js';
import { MAX_WEBHOOK_URL_LENGTH, refusedUrl } from '../executions/webhook-targets.js';
import type { WebhookRecord } from '../store/types.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { formatTime } from './render.js';
import { IdParams, NoContent, ProjectParams } from './schemas.js';

/**
 * `/v1.1/{project}/webhooks`: receivers of the project's terminal execution statuses
 * (docs/webhooks.md). Any member of the project manages its webhooks, as Sahara's default policy
 * lets members manage their project's resources; another project's webhook answers 404.
 */

/** Webhooks one project may register. */
export const MAX_WEBHOOKS_PER_PROJECT = 10;
/** What a webhook's secret renders as: it is never sent back. */
export const MASKED_SECRET = '********' as const;
export const SECRET_LENGTH = { min: 16, max: 256 };

const WebhookSchema = Type.Object(
  {
    id: Type.String(),
    tenant_id: Type.String(),
    url: Type.String(),
    secret: Type.Literal(MASKED_SECRET, { description: 'Always masked: the secret is never rendered' }),
    created_at: Type.String(),
  },
  { $id: 'Webhook', title: 'Webhook' },
);

const CreateBody = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: MAX_WEBHOOK_URL_LENGTH,
      description: 'http:// or https:// URL of the receiver',
    }),
    // Lengths are checked by the handler: the validator's messages quote the value they refuse.
    secret: Type.String({
      description: `Key of the HMAC-SHA256 signature of every delivery (Oasis-Signature): ${SECRET_LENGTH.min} to ${SECRET_LENGTH.max} characters; write-only`,
      writeOnly: true,
    }),
  },
  { additionalProperties: false },
);

const Envelope = Type.Object({ webhook: WebhookSchema });

function render(row: WebhookRecord) {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    url: row.url,
    secret: MASKED_SECRET as typeof MASKED_SECRET,
    created_at: formatTime(row.created_at)!,
  };
}

export function registerWebhookRoutes(api: Api, deps: AppDeps): void {
  const repo = deps.store.webhooks;
  const allowPrivate = deps.config.webhooks?.allowPrivate ?? false;
  const ownWebhook = async (id: string, tenant: string) => {
    const row = await repo.get(id);
    if (!row || row.tenant_id !== tenant) throw notFound(id, 'Webhook');
    return row;
  };

  api.post(
    '/webhooks',
    { schema: { params: ProjectParams, body: CreateBody, response: { 202: Envelope } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const { url, secret } = request.body;
      if (secret.length < SECRET_LENGTH.min || secret.length > SECRET_LENGTH.max) {
        throw new ApiError(
          'VALIDATION_ERROR',
          `secret: must be ${SECRET_LENGTH.min} to ${SECRET_LENGTH.max} characters long`,
        );
      }
      const refused = refusedUrl(url, allowPrivate);
      if (refused) throw new ApiError('INVALID_DATA', `Webhook ${refused}`);
      const row = await repo.insertBounded(
        { id: randomUUID(), tenant_id: tenant, url, secret },
        MAX_WEBHOOKS_PER_PROJECT,
      );
      if (!row)
        throw new ApiError(
          'INVALID_DATA',
          `A project may register at most ${MAX_WEBHOOKS_PER_PROJECT} webhooks; delete one first`,
        );
      return reply.status(202).send({ webhook: render(row) });
    },
  );

  api.get(
    '/webhooks',
    { schema: { params: ProjectParams, response: { 200: Type.Object({ webhooks: Type.Array(WebhookSchema) }) } } },
    async (request) => ({ webhooks: (await repo.listByTenant(tenantOf(request))).map(render) }),
  );

  api.get('/webhooks/:id', { schema: { params: IdParams, response: { 200: Envelope } } }, async (request) => ({
    webhook: render(await ownWebhook(request.params.id, tenantOf(request))),
  }));

  api.delete(
    '/webhooks/:id',
    { schema: { params: IdParams, response: { 204: NoContent } } },
    async (request, reply) => {
      const row = await ownWebhook(request.params.id, tenantOf(request));
      await repo.delete(row.id);
      return reply.status(204).send(null);
    },
  );
}
