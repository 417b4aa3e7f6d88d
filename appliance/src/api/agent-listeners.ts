import type { FastifyInstance } from 'fastify';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentListeners } from '../orchestrator/run-networks.ts';

/**
 * The agent listener: one app built for the `agent` listener (it answers nothing but
 * `/api/v1/agent/*`), served on each run network's gateway address, and on one loopback port
 * for guests on user networking (where bridges are not allowed). Each address gets a plain HTTP server of its own
 * handing requests to the same app, so a guest can reach it only where its bridge ends.
 */
export class AgentServers implements AgentListeners {
  private readonly servers = new Map<string, Server>();
  private loopback: Promise<number> | null = null;
  private readonly app: Promise<FastifyInstance>;
  /** Hands over the app once built (services, which open listeners, are made before it). */
  readonly serve: (app: FastifyInstance) => void;

  constructor() {
    let serve!: (app: FastifyInstance) => void;
    this.app = new Promise((resolve) => {
      serve = resolve;
    });
    this.serve = serve;
  }

  async open(address: string, port: number): Promise<void> {
    if (this.servers.has(address)) return;
    const app = await this.app;
    await app.ready();
    const server = createServer((request, response) => app.routing(request, response));
    this.servers.set(address, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => {
        this.servers.delete(address);
        reject(error);
      });
      server.listen({ host: address, port }, resolve);
    });
  }

  async close(address: string): Promise<void> {
    const server = this.servers.get(address);
    if (!server) return;
    this.servers.delete(address);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  loopbackPort(): Promise<number> {
    this.loopback ??= (async () => {
      await this.open('127.0.0.1', 0);
      return (this.servers.get('127.0.0.1')!.address() as AddressInfo).port;
    })().catch((error: unknown) => {
      this.loopback = null;
      throw error;
    });
    return this.loopback;
  }

  /** Where it listens now (`http://address:port`), for the log. */
  urls(): string[] {
    return [...this.servers.values()]
      .map((server) => server.address() as AddressInfo)
      .map((bound) => `http://${bound.address}:${bound.port}`);
  }

  /** Closes every server (shutdown). */
  async closeAll(): Promise<void> {
    for (const address of [...this.servers.keys()]) await this.close(address);
    this.loopback = null;
  }
}
