/**
 * The test Keystone started by scripts/keystone.sh (KEYSTONE_URL, KEYSTONE_PASSWORD, KEYSTONE_PID):
 * tokens for its users, the catalog entry pointing at a test's Oasis, and stopping it for a while.
 */
export interface TestKeystone {
  url: string;
  password: string;
  pid: number;
}

export function testKeystone(): TestKeystone | undefined {
  const { KEYSTONE_URL: url, KEYSTONE_PASSWORD: password, KEYSTONE_PID: pid } = process.env;
  if (!url || !password || !pid) {
    if (process.env.CI) throw new Error('KEYSTONE_URL unset: scripts/test.sh starts Keystone (scripts/keystone.sh)');
    return undefined;
  }
  return { url, password, pid: Number(pid) };
}

/** A project-scoped token of `user` (every test user's password is the same). */
export async function issueToken(
  keystone: TestKeystone,
  user: string,
  project: string,
): Promise<{ token: string; projectId: string }> {
  const response = await fetch(`${keystone.url}/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: user, domain: { id: 'default' }, password: keystone.password } },
        },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
  if (response.status !== 201)
    throw new Error(`Keystone refused ${user}@${project}: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { token: { project: { id: string } } };
  return { token: response.headers.get('x-subject-token')!, projectId: body.token.project.id };
}

async function adminCall(keystone: TestKeystone, method: string, path: string, body?: unknown): Promise<any> {
  const { token } = await issueToken(keystone, 'admin', 'admin');
  const response = await fetch(`${keystone.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', 'X-Auth-Token': token },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

/**
 * Registers an Oasis in the catalog as Sahara was registered: service type `data-processing`,
 * its v1.1 URL with the project id. Returns a function that removes it again.
 */
export async function registerOasis(keystone: TestKeystone, oasisUrl: string): Promise<() => Promise<void>> {
  const { service } = await adminCall(keystone, 'POST', '/services', {
    service: { type: 'data-processing', name: 'sahara', enabled: true },
  });
  for (const iface of ['public', 'internal', 'admin']) {
    await adminCall(keystone, 'POST', '/endpoints', {
      endpoint: {
        service_id: service.id,
        interface: iface,
        region_id: 'RegionOne',
        url: `${oasisUrl}/v1.1/%(project_id)s`,
      },
    });
  }
  return () => adminCall(keystone, 'DELETE', `/services/${service.id}`);
}

/** Suspends Keystone (its whole process group): it accepts connections but never answers. */
export async function whileKeystoneHangs<T>(keystone: TestKeystone, body: () => Promise<T>): Promise<T> {
  process.kill(-keystone.pid, 'SIGSTOP');
  try {
    return await body();
  } finally {
    process.kill(-keystone.pid, 'SIGCONT');
  }
}
