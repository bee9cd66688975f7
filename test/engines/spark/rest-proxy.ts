import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A real TCP proxy in front of the Spark master's REST port, to lose or delay its answers the
 * way a slow master or a crashing Oasis does. Requests always reach the master whole; what
 * comes back is:
 * - 'pass': forwarded;
 * - 'hold': forwarded only after `holdMs` (past the client's timeout, the client is gone);
 * - 'drop': never forwarded: the client's connection is cut as soon as the master answers.
 */
export type ProxyMode = 'pass' | 'hold' | 'drop';

export interface RestProxy {
  url: string;
  mode: ProxyMode;
  /** Answers the master sent that the client never got. */
  readonly lostAnswers: number;
  close(): Promise<void>;
}

export async function startRestProxy(
  restUrl: string,
  options: { mode: ProxyMode; holdMs?: number },
): Promise<RestProxy> {
  const target = new URL(restUrl);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let lostAnswers = 0;
  const proxy: RestProxy = {
    url: '',
    mode: options.mode,
    get lostAnswers() {
      return lostAnswers;
    },
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      const mode = proxy.mode;
      if (mode === 'pass') {
        client.write(chunk);
      } else if (mode === 'drop') {
        lostAnswers += 1;
        client.destroy();
        upstream.destroy();
      } else {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (client.destroyed) lostAnswers += 1;
          else client.write(chunk);
        }, options.holdMs ?? 0);
        timers.add(timer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}
