import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError, loadConfig } from '../src/config.js';

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
    assert.deepEqual(problemsOf({ OASIS_LOG_FORMAT: 'yaml' }), ['OASIS_LOG_FORMAT must be "auto", "pretty" or "json", not "yaml"']);
  });

  test('OASIS_METRICS_TOKEN is unset by default and must be long, printable and without spaces', () => {
    assert.equal(loadConfig({}).metricsToken, null);
    assert.equal(loadConfig({ OASIS_METRICS_TOKEN: 'a-long-enough-token' }).metricsToken, 'a-long-enough-token');
    for (const token of ['short', 'has spaces in the token', 'x'.repeat(257), 'tab\tinside-the-token-value']) {
      assert.deepEqual(problemsOf({ OASIS_METRICS_TOKEN: token }), ['OASIS_METRICS_TOKEN must be 16 to 256 printable characters without spaces'], token);
    }
  });
});
