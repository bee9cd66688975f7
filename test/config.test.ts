import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('OASIS_AUTH=keystone settings', () => {
  const keystone = {
    OASIS_AUTH: 'keystone',
    OASIS_KEYSTONE_URL: 'http://keystone:5000/v3',
    OASIS_KEYSTONE_USER: 'oasis',
    OASIS_KEYSTONE_PASSWORD: ' secret ',
    OASIS_KEYSTONE_PROJECT: 'service',
  };

  test('the service credentials are read, with the documented defaults', () => {
    const config = loadConfig(keystone);
    assert.equal(config.auth, 'keystone');
    assert.deepEqual(config.keystone, {
      url: 'http://keystone:5000/v3',
      username: 'oasis',
      password: ' secret ',
      projectName: 'service',
      userDomainName: 'Default',
      projectDomainName: 'Default',
      cacheTimeMs: 60_000,
      cacheSize: 10_000,
      timeoutMs: 5_000,
    });
    assert.equal(loadConfig({ OASIS_AUTH: 'noauth' }).keystone, null);
  });

  test('every missing or bad setting is reported at once', () => {
    assert.throws(
      () =>
        loadConfig({
          OASIS_AUTH: 'keystone',
          OASIS_KEYSTONE_URL: 'keystone:5000',
          OASIS_KEYSTONE_CACHE_TIME: '10m',
          OASIS_KEYSTONE_CACHE_SIZE: '0',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const expected of [
          /OASIS_KEYSTONE_URL must be an http/,
          /needs OASIS_KEYSTONE_USER/,
          /needs OASIS_KEYSTONE_PASSWORD/,
          /needs OASIS_KEYSTONE_PROJECT/,
          /OASIS_KEYSTONE_CACHE_TIME must be at most 5m/,
          /OASIS_KEYSTONE_CACHE_SIZE must be an integer/,
        ]) {
          assert.ok(
            error.problems.some((problem) => expected.test(problem)),
            `${expected} in ${error.problems.join('; ')}`,
          );
        }
        return true;
      },
    );
  });
});

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
};

describe('configuration of logs and metrics', () => {
  test('OASIS_LOG_FORMAT is auto by default and takes pretty or json', () => {
    assert.equal(loadConfig({}).logFormat, 'auto');
    assert.equal(loadConfig({ OASIS_LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.equal(loadConfig({ OASIS_LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.deepEqual(problemsOf({ OASIS_LOG_FORMAT: 'yaml' }), [
      'OASIS_LOG_FORMAT must be "auto", "pretty" or "json", not "yaml"',
    ]);
  });

  test('OASIS_METRICS_TOKEN is unset by default and must be long, printable and without spaces', () => {
    assert.equal(loadConfig({}).metricsToken, null);
    assert.equal(loadConfig({ OASIS_METRICS_TOKEN: 'a-long-enough-token' }).metricsToken, 'a-long-enough-token');
    for (const token of ['short', 'has spaces in the token', 'x'.repeat(257), 'tab\tinside-the-token-value']) {
      assert.deepEqual(
        problemsOf({ OASIS_METRICS_TOKEN: token }),
        ['OASIS_METRICS_TOKEN must be 16 to 256 printable characters without spaces'],
        token,
      );
    }
  });
});
