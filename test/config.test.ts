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
      () => loadConfig({ OASIS_AUTH: 'keystone', OASIS_KEYSTONE_URL: 'keystone:5000', OASIS_KEYSTONE_CACHE_TIME: '10m', OASIS_KEYSTONE_CACHE_SIZE: '0' }),
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
          assert.ok(error.problems.some((problem) => expected.test(problem)), `${expected} in ${error.problems.join('; ')}`);
        }
        return true;
      },
    );
  });
});
