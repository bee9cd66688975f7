import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { gatedScript, newGate } from '../cli/support.js';
import { eventually } from '../support/eventually.js';
import { newProject } from '../support/resources.js';
import { type OasisProcess, startOasis } from '../support/server.js';

const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-output/screenshots');

let oasis: OasisProcess;
let secured: OasisProcess;
let browser: Browser;

before(async () => {
  // scripts/chromium.sh (run by scripts/test.sh) installs Debian's chromium.
  const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  [oasis, secured, browser] = await Promise.all([
    startOasis(),
    startOasis({ tokens: { 'alpha-secret': { project_id: 'alpha' } } }),
    chromium.launch({ executablePath, args: ['--no-sandbox'] }),
  ]);
  await mkdir(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await Promise.all([oasis?.stop(), secured?.stop()]);
});

/** A page that fails the test on any script error or CSP violation. */
async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(60_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 404/.test(message.text())) problems.push(message.text());
  });
  await page.goto(url);
  return { page, problems };
}

interface Resource {
  id: string;
  name: string;
  info: { status: string };
}

/** The parts of Oasis's answers the tests read. */
interface Answer {
  job_binary_internal: Resource;
  job_binary: Resource;
  job: Resource;
  job_execution: Resource;
  clusters: Resource[];
}

/** A client of the API as a script would use it, to make real executions the page shows. */
function apiOf(server: OasisProcess, project: string, token?: string) {
  const base = `${server.url}/v1.1/${project}`;
  const headers = (extra: Record<string, string> = {}) => ({ ...extra, ...(token ? { 'x-auth-token': token } : {}) });
  const json = async (method: string, url: string, body?: unknown, raw?: string) => {
    const response = await fetch(base + url, {
      method,
      headers: headers(
        raw !== undefined
          ? { 'content-type': 'application/octet-stream' }
          : body
            ? { 'content-type': 'application/json' }
            : {},
      ),
      body: raw ?? (body ? JSON.stringify(body) : undefined),
    });
    assert.ok(response.ok, `${method} ${url}: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as Answer;
  };
  return {
    /** Uploads a shell script, makes its template and executes it on `local`; answers the execution id. */
    async run(name: string, script: string, args: string[] = []): Promise<string> {
      const [id] = await this.runTimes(1, name, script, args);
      return id!;
    },
    /** Executes one script's template `times` times; answers the execution ids. */
    async runTimes(times: number, name: string, script: string, args: string[] = []): Promise<string[]> {
      const unique = `${name}-${newProject().slice(0, 6)}`;
      const jbi = (await json('PUT', `/job-binary-internals/${unique}.sh`, undefined, script)).job_binary_internal;
      const binary = (await json('POST', '/job-binaries', { name: `${unique}.sh`, url: `internal-db://${jbi.id}` }))
        .job_binary;
      const job = (await json('POST', '/jobs', { name: unique, type: 'Shell', mains: [binary.id] })).job;
      const { clusters } = await json('GET', '/clusters');
      const local = clusters.find((c) => c.name === 'local')!;
      const ids: string[] = [];
      for (let i = 0; i < times; i++) {
        ids.push(
          (await json('POST', `/jobs/${job.id}/execute`, { cluster_id: local.id, job_configs: { args } })).job_execution
            .id,
        );
      }
      return ids;
    },
    async status(id: string): Promise<string> {
      return (await json('GET', `/job-executions/${id}`)).job_execution.info.status;
    },
    async ended(id: string): Promise<string> {
      return eventually(async () => {
        const status = await this.status(id);
        return ['SUCCEEDED', 'DONEWITHERROR', 'FAILED', 'KILLED'].includes(status) ? status : undefined;
      }, `execution ${id} to end`);
    },
  };
}

const row = (page: Page, id: string) => page.locator(`tr[data-id="${id}"]`);
const statusIn = (page: Page, id: string, status: string) =>
  row(page, id).locator('.status', { hasText: new RegExp(`^${status}$`) });

describe('the dashboard at /ui/', () => {
  it('lists the project’s executions, filters them by status and sorts them', async () => {
    const project = newProject();
    const api = apiOf(oasis, project);
    const ok = await api.run('fine', 'echo fine\n');
    const ko = await api.run('broken', 'echo oops >&2\nexit 5\n');
    assert.equal(await api.ended(ok), 'SUCCEEDED');
    assert.equal(await api.ended(ko), 'DONEWITHERROR');

    const { page, problems } = await openPage(`${oasis.url}/ui/?project=${project}`);
    await statusIn(page, ok, 'SUCCEEDED').waitFor();
    await statusIn(page, ko, 'DONEWITHERROR').waitFor();
    assert.match(await row(page, ko).innerText(), /broken-\w+\s+local\s+DONEWITHERROR\s+5/);
    await page.getByText('Job name contains').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'executions.png') });

    await page.getByLabel('Status').selectOption('SUCCEEDED');
    await row(page, ko).waitFor({ state: 'detached' });
    assert.equal(await page.locator('tbody tr').count(), 1);
    await page.getByLabel('Status').selectOption('');
    await row(page, ko).waitFor();

    await page.getByRole('button', { name: /^Job/ }).click();
    await page.locator('th[aria-sort="ascending"]', { hasText: 'Job' }).waitFor();
    assert.deepEqual(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))), [
      ko,
      ok,
    ]);
    await page.getByRole('button', { name: /^Job/ }).click();
    await page.locator('th[aria-sort="descending"]', { hasText: 'Job' }).waitFor();
    assert.deepEqual(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))), [
      ok,
      ko,
    ]);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('pages through many executions with the keyboard', async () => {
    const project = newProject();
    const ids = await apiOf(oasis, project).runTimes(27, 'many', 'exit 0\n');
    const { page, problems } = await openPage(`${oasis.url}/ui/?project=${project}`);
    await page.getByText('27 executions', { exact: false }).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 25);
    await page.getByText('Page 1 of 2').waitFor();
    const next = page.getByRole('button', { name: 'Next page' });
    await next.focus();
    await page.keyboard.press('Enter');
    await page.getByText('Page 2 of 2').waitFor();
    const second = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    assert.equal(second.length, 2);
    assert.ok(second.every((id) => ids.includes(id!)));
    assert.equal(await next.isDisabled(), true);
    await page.getByRole('button', { name: 'Previous page' }).press('Enter');
    await page.getByText('Page 1 of 2').waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('shows an execution’s output, configuration and status in its detail view', async () => {
    const project = newProject();
    const api = apiOf(oasis, project);
    const id = await api.run('detail', 'echo "out $1"\necho "err $2" >&2\n', ['first-arg', 'second-arg']);
    await api.ended(id);
    const { page, problems } = await openPage(`${oasis.url}/ui/?project=${project}`);
    await page.getByRole('link', { name: `Execution ${id}` }).click();
    await page.getByRole('heading', { name: `Execution ${id}` }).waitFor();
    await page.locator('pre.log', { hasText: 'out first-arg' }).waitFor();
    await page.getByRole('table', { name: 'Arguments' }).getByText('second-arg').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel execution' }).isDisabled(), true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'detail.png') });
    await page.getByRole('button', { name: 'Standard error' }).click();
    await page.locator('pre.log', { hasText: 'err second-arg' }).waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('shows a new execution and its status changes without a reload, and its output as it is written', async () => {
    const project = newProject();
    const api = apiOf(oasis, project);
    const { page, problems } = await openPage(`${oasis.url}/ui/?project=${project}`);
    await page.locator('.live-live').waitFor();
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    const gate = newGate();
    const id = await api.run('live', gatedScript('waiting', 'done'), [gate.dir]);
    await statusIn(page, id, 'RUNNING').waitFor();
    await row(page, id).getByRole('link').click();
    await page.locator('pre.log', { hasText: 'waiting' }).waitFor();
    await gate.open();
    await page.locator('.facts .status', { hasText: /^SUCCEEDED$/ }).waitFor();
    await page.locator('pre.log', { hasText: 'done' }).waitFor();
    await page.getByRole('link', { name: '← Executions' }).click();
    await statusIn(page, id, 'SUCCEEDED').waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('cancels a running execution from its detail view', async () => {
    const project = newProject();
    const api = apiOf(oasis, project);
    const id = await api.run('cancel-me', gatedScript('working', 'never'), [newGate().dir]);
    const { page, problems } = await openPage(`${oasis.url}/ui/?project=${project}#/executions/${id}`);
    await page.locator('pre.log', { hasText: 'working' }).waitFor();
    await page.locator('.facts .status', { hasText: /^RUNNING$/ }).waitFor();
    await page.getByRole('button', { name: 'Cancel execution' }).click();
    await page.locator('.facts .status', { hasText: /^KILLED$/ }).waitFor();
    assert.equal(await api.status(id), 'KILLED');
    assert.equal(await page.getByRole('button', { name: 'Cancel execution' }).isDisabled(), true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'cancelled.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('lists the clusters the project sees and their health', async () => {
    const { page, problems } = await openPage(`${oasis.url}/ui/?project=${newProject()}#/clusters`);
    const local = page.getByRole('row', { name: /local/ });
    await local.getByText('Active').waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('under tokens auth asks for a token, keeps it in the tab only and sends it as X-Auth-Token', async () => {
    const api = apiOf(secured, 'alpha', 'alpha-secret');
    const id = await api.run('secured', 'echo secret-output\n');
    await api.ended(id);
    const { page, problems } = await openPage(`${secured.url}/ui/?project=alpha`);
    const sent: string[] = [];
    page.on('request', (request) => sent.push(request.url()));
    await page.getByText('This Oasis needs a token.').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sign-in.png') });

    await page.getByLabel(/^Token/).fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was refused.').waitFor();

    await page.getByLabel(/^Token/).fill('alpha-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await statusIn(page, id, 'SUCCEEDED').waitFor();
    await page.locator('.live-live').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('oasis.token')), 'alpha-secret');
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.ok(
      sent.every((url) => !url.includes('alpha-secret')),
      'the token never goes into a URL',
    );

    // A reload in the same tab keeps the session; a new tab (another session) asks again.
    await page.reload();
    await statusIn(page, id, 'SUCCEEDED').waitFor();
    const other = await browser.newPage();
    await other.goto(`${secured.url}/ui/?project=alpha`);
    await other.getByText('This Oasis needs a token.').waitFor();
    await other.close();
    assert.deepEqual(
      problems.filter((p) => !/401/.test(p)),
      [],
    );
    await page.close();
  });

  it('is served with a strict Content-Security-Policy, correct types and caching', async () => {
    const page = await fetch(`${oasis.url}/ui/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    assert.doesNotMatch(csp, /unsafe/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    const assets = [...html.matchAll(/"(\/ui\/assets\/[0-9a-f]+\/[\w/.-]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('/main.js')) && assets.some((a) => a.endsWith('/vendor/preact.js')), html);
    for (const asset of assets) {
      const response = await fetch(oasis.url + asset);
      assert.equal(response.status, 200, asset);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(
        response.headers.get('content-type') ?? '',
        asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
      );
    }
    const stale = await fetch(`${oasis.url}/ui/assets/0000000000000000/main.js`);
    assert.equal(stale.status, 404);
    assert.equal(((await stale.json()) as { error_name: string }).error_name, 'NOT_FOUND');
    const outside = await fetch(`${oasis.url}${assets[0]!.replace(/[^/]+$/, '')}..%2F..%2Fpackage.json`);
    assert.equal(outside.status, 404);
  });
});
