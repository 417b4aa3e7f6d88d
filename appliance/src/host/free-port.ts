import { createServer } from 'node:net';

/** A TCP port nobody listens on right now, on this machine (for a host forward or a DNAT target). */
export function freeHostPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
