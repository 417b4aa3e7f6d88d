import { createHash } from 'node:crypto';
import { freeHostPort } from '../host/free-port.ts';
import {
  addNetworkHost,
  createNetwork,
  listNetworks,
  removeNetwork,
} from '../connectors/libvirt/private-network.ts';
import {
  agentPort,
  gatewayOf,
  instanceAddress,
  instanceHostnames,
  instanceMac,
  subnetCandidates,
  type RunNetwork,
} from '../domain/run-network.ts';
import { BivouacError } from '../errors.ts';
import { addDnat, createTable, listTables, publishedPorts, removeTable } from '../host/firewall.ts';

/**
 * Where the agent API is served to guests. `server.ts` serves it with an app built for the
 * `agent` listener (nothing but `/api/v1/agent/*`).
 */
export interface AgentListeners {
  /** Serves the agent API on this address and port until `close`; opening one already open is harmless. */
  open(address: string, port: number): Promise<void>;
  /** Stops serving on this address; one not open is not an error. */
  close(address: string): Promise<void>;
  /** The loopback port guests on user networking reach at 10.0.2.2 (an agent-only listener). */
  loopbackPort(): Promise<number>;
}

export interface RunNetworksOptions {
  /** The box's own hypervisor (a local `qemu:///system`). */
  uri: string;
  /** The box's IPv4 address on its LAN: published ports are DNAT from there. */
  publicAddress: string;
  listeners: AgentListeners;
}

/** A private network as it is on the box: the stored one with its subnet known. */
export interface MadeNetwork {
  name: string;
  prefix: string;
  gateway: string;
}

/** The private network's name for a run: `bvn-` and 11 hex digits (an interface name's limit is 15). */
export function networkName(runId: string): string {
  return `bvn-${createHash('sha256').update(runId).digest('hex').slice(0, 11)}`;
}

/**
 * Private networks of runs on the box: each made before the run's first launch (libvirt
 * network, firewall table, agent listener on its gateway), given an instance's DHCP and DNS
 * entries before that instance launches, and removed when the run ends. `sweep` removes what a
 * crash left behind.
 */
export class RunNetworks {
  /** Makes of one network at a time (launches of one run may run in parallel). */
  private readonly making = new Map<string, Promise<MadeNetwork>>();
  private readonly givenPorts = new Set<number>();

  constructor(private readonly options: RunNetworksOptions) {}

  /** The network of a new run whose nodes go to these clouds: private only when all are on the box. */
  choose(runId: string, cloudIds: readonly string[], boxCloudId: string): RunNetwork {
    return cloudIds.every((id) => id === boxCloudId)
      ? { mode: 'private', name: networkName(runId), prefix: null }
      : { mode: 'user' };
  }

  /**
   * Makes the network if it is not there (after a crash or a restart of libvirt it may not be),
   * with its firewall table and agent listener; `taken` are subnets other runs hold.
   */
  ensure(
    network: { name: string; prefix: string | null },
    taken: ReadonlySet<string>,
  ): Promise<MadeNetwork> {
    const under = this.making.get(network.name);
    if (under) return under;
    const making = this.make(network, taken).finally(() => this.making.delete(network.name));
    this.making.set(network.name, making);
    return making;
  }

  private async make(
    network: { name: string; prefix: string | null },
    taken: ReadonlySet<string>,
  ): Promise<MadeNetwork> {
    const { uri, listeners } = this.options;
    const seed = parseInt(network.name.slice(4, 8), 16);
    const candidates = network.prefix ? [network.prefix] : subnetCandidates(seed, taken, 8);
    let lastError: unknown = null;
    for (const prefix of candidates) {
      const made = { name: network.name, prefix, gateway: gatewayOf(prefix) };
      try {
        const isNew = await createNetwork(uri, { name: made.name, prefix }, []);
        if (isNew || !(await listTables()).includes(made.name))
          await createTable({ name: made.name, gateway: made.gateway, agentPort });
        await listeners.open(made.gateway, agentPort);
        return made;
      } catch (error) {
        lastError = error;
        // A subnet another network or interface holds: try the next one (only for a new network).
        if (
          network.prefix ||
          !/in use|overlap|already/i.test(String((error as BivouacError).details?.reason ?? ''))
        )
          break;
      }
    }
    await this.release(network.name, null).catch(() => undefined);
    throw lastError instanceof BivouacError
      ? lastError
      : new BivouacError(
          'NETWORK_FAILED',
          `Cannot make network ${network.name}: ${(lastError as Error)?.message}`,
          { reason: String(lastError) },
        );
  }

  /**
   * The instance's place on the network: its fixed MAC and address, entered in DHCP and DNS
   * before it launches (`db-1`, and `db` for the first instance of node db).
   */
  async addInstance(
    network: MadeNetwork,
    instance: string,
    position: number,
  ): Promise<{ mac: string; address: string }> {
    const address = instanceAddress(network.prefix, position);
    if (!address)
      throw new BivouacError(
        'NETWORK_FAILED',
        `A run's network holds at most 253 instances; ${instance} would be number ${position + 1}.`,
        { reason: 'subnet full' },
      );
    const mac = instanceMac(network.prefix, position);
    await addNetworkHost(this.options.uri, network.name, {
      mac,
      ip: address,
      names: instanceHostnames(instance),
    });
    return { mac, address };
  }

  /** Publishes a guest port on the box's public address; the answer is where the LAN reaches it. */
  async publish(
    network: MadeNetwork,
    guest: string,
    guestPort: number,
  ): Promise<{ host: string; port: number }> {
    const taken = new Set([...this.givenPorts, ...(await publishedPorts())]);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const port = await freeHostPort();
      if (taken.has(port)) continue;
      this.givenPorts.add(port);
      await addDnat(network.name, {
        publicAddress: this.options.publicAddress,
        publicPort: port,
        guest,
        guestPort,
      });
      return { host: this.options.publicAddress, port };
    }
    throw new BivouacError(
      'NETWORK_FAILED',
      `Cannot publish port ${guestPort} of ${guest}: no free port.`,
      { reason: 'no free port' },
    );
  }

  /** Removes the network, its firewall table and its agent listener; what is gone already is skipped. */
  async release(name: string, prefix: string | null): Promise<void> {
    if (prefix) await this.options.listeners.close(gatewayOf(prefix));
    await Promise.all([removeTable(name), removeNetwork(this.options.uri, name)]);
  }

  /**
   * Removes networks and firewall tables of runs that ended (`ended` names them), as a crash may
   * leave them. Networks of runs this appliance does not know (another appliance's) are left.
   */
  async sweep(ended: ReadonlySet<string>): Promise<string[]> {
    const names = new Set([...(await listNetworks(this.options.uri)), ...(await listTables())]);
    const removed: string[] = [];
    for (const name of names) {
      if (!ended.has(name)) continue;
      await this.release(name, null);
      removed.push(name);
    }
    return removed;
  }
}
