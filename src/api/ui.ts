import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../errors.js';

/**
 * The dashboard at /ui/: plain ES modules (src/ui) and Preact and htm from node_modules, served
 * as they are, without a build step, so that `npm start` and the tests serve the same files.
 *
 * Every asset lives under /ui/assets/<version>/, the version being a hash of all of them: assets
 * are cached for good (a new Oasis with other files has another version), the page itself is
 * revalidated every time. A strict Content-Security-Policy allows only these same-origin files,
 * the page's one inline import map (by its hash) and requests to Oasis itself.
 */

const SOURCE_DIR = path.resolve(import.meta.dirname, '../../src/ui');

/** Bare module names the dashboard imports, mapped to their browser builds. */
const VENDOR: Record<string, { module: string; file: string }> = {
  preact: { module: 'preact', file: 'vendor/preact.js' },
  'preact/hooks': { module: 'preact/hooks', file: 'vendor/hooks.js' },
  htm: { module: 'htm', file: 'vendor/htm.js' },
};

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
}

interface Dashboard {
  version: string;
  page: string;
  assets: Map<string, Asset>;
  csp: string;
}

async function loadDashboard(): Promise<Dashboard> {
  const assets = new Map<string, Asset>();
  for (const name of await readdir(SOURCE_DIR)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (type) assets.set(name, { body: await readFile(path.join(SOURCE_DIR, name)), type });
  }
  for (const { module, file } of Object.values(VENDOR)) {
    assets.set(file, { body: await readFile(fileURLToPath(import.meta.resolve(module))), type: CONTENT_TYPES['.js']! });
  }
  const hash = createHash('sha256');
  for (const [name, asset] of [...assets].sort(([a], [b]) => a.localeCompare(b))) hash.update(name).update(asset.body);
  const version = hash.digest('hex').slice(0, 16);
  const base = `/ui/assets/${version}`;
  const importMap = JSON.stringify({
    imports: Object.fromEntries(Object.entries(VENDOR).map(([name, { file }]) => [name, `${base}/${file}`])),
  });
  const template = await readFile(path.join(SOURCE_DIR, 'index.html'), 'utf8');
  const page = template.replaceAll('{{assets}}', base).replace('{{importmap}}', importMap);
  const mapHash = createHash('sha256').update(importMap).digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${mapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { version, page, assets, csp };
}

function secure(reply: FastifyReply, csp: string): FastifyReply {
  return reply
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

/** Registers /ui/ (the page) and /ui/assets/<version>/<file>. */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  const dashboard = await loadDashboard();
  app.get('/ui', { schema: { hide: true } }, async (_request, reply) =>
    secure(reply, dashboard.csp)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(dashboard.page),
  );
  app.get('/ui/assets/:version/*', { schema: { hide: true } }, async (request, reply) => {
    const { version, '*': file } = request.params as { version: string; '*': string };
    const asset = version === dashboard.version ? dashboard.assets.get(file) : undefined;
    if (!asset) throw new ApiError('NOT_FOUND', 'No such dashboard file');
    return secure(reply, dashboard.csp)
      .type(asset.type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(asset.body);
  });
}
