import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type OasisProcess, startOasis } from '../support/server.js';
import { cli, clientEnv } from './support.js';

let oasis: OasisProcess;

before(async () => {
  oasis = await startOasis({
    tokens: { 'alpha-token': { project_id: 'alpha' }, 'beta-token': { project_id: 'beta' } },
  });
});
after(() => oasis.stop());

describe('oasis under tokens auth', () => {
  it('sends OASIS_TOKEN or --token as X-Auth-Token, and shows Oasis’s refusal otherwise', async () => {
    const listed = await cli(['list', '--json'], clientEnv(oasis.url, 'alpha', 'alpha-token'));
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), []);

    const flag = await cli(['list', '--json', '--token', 'alpha-token'], clientEnv(oasis.url, 'alpha', 'wrong'));
    assert.equal(flag.code, 0, flag.stderr);

    const none = await cli(['list'], clientEnv(oasis.url, 'alpha'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^oasis list: Authentication required: a valid X-Auth-Token header is needed/);

    const otherProject = await cli(['list'], clientEnv(oasis.url, 'alpha', 'beta-token'));
    assert.equal(otherProject.code, 1);
    assert.match(otherProject.stderr, /Token tenant != requested tenant/);
  });
});
