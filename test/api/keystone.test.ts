import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { KeystoneAuth } from '../../src/api/keystone.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { assertError } from '../support/resources.js';

/**
 * The Keystone authenticator where no Keystone answers: these need none running. Oasis behind a
 * real Keystone (tokens, roles, revocation, a Keystone that hangs) is test/e2e/keystone.test.ts.
 */
describe('Keystone authentication without a Keystone', () => {
  let t: TestApp;
  let auth: KeystoneAuth;
  const server = createServer();

  before(async () => {
    // A port that was free a moment ago: nothing listens on it.
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    auth = new KeystoneAuth(
      {
        url: `http://127.0.0.1:${port}`,
        username: 'oasis',
        password: 'secret',
        projectName: 'service',
        userDomainName: 'Default',
        projectDomainName: 'Default',
        cacheTimeMs: 60_000,
        cacheSize: 10,
        timeoutMs: 5_000,
      },
      pino({ level: 'silent' }),
    );
    t = await createTestApp({ dialect: 'sqlite', localConcurrency: 0, auth });
  });
  after(async () => {
    await t?.close();
  });

  test("a Keystone that refuses connections answers 503 with Sahara's body, and nothing is cached", async () => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await t.app.inject({
        method: 'GET',
        url: '/v1.1/p/job-executions',
        headers: { 'x-auth-token': 'some-token' },
      });
      assertError(response, 503, 'SERVICE_UNAVAILABLE');
    }
    assert.equal(auth.cachedCount, 0);
  });

  // Keystone cannot answer here: a 401 rather than a 503 shows it was not asked.
  test('no token, or one longer than any Keystone token, is 401 without asking Keystone', async () => {
    assertError(await t.app.inject({ method: 'GET', url: '/v1.1/p/job-executions' }), 401, 'UNAUTHORIZED');
    assertError(
      await t.app.inject({
        method: 'GET',
        url: '/v1.1/p/job-executions',
        headers: { 'x-auth-token': 'x'.repeat(9000) },
      }),
      401,
      'UNAUTHORIZED',
    );
  });

  test('version discovery needs no token', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/' })).statusCode, 300);
  });
});
