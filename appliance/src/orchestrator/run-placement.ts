import { boxCloudId } from '../connectors/clouds.ts';
import type { VmSpec } from '../connectors/contract.ts';
import { log } from '../domain/run-machine.ts';
import { agentPort, gatewayOf, legacyNetwork, type RunNetwork } from '../domain/run-network.ts';
import { isFinal } from '../domain/run-states.ts';
import { holdsVm, type StoredRun } from '../domain/runs.ts';
import type { RunLedger } from './run-ledger.ts';
import { instanceOf, nodeOf, vmName } from './run-lookups.ts';
import type { AgentListeners, MadeNetwork, RunNetworks } from './run-networks.ts';
import type { VmTracker } from './vm-tracker.ts';

/** Where guests reach the appliance, and the box's private networks per run, when it has them. */
export interface PlacementOptions {
  agentUrl: string;
  networks?: RunNetworks | null | undefined;
  agentListeners?: AgentListeners | null | undefined;
}

/**
 * Where a run's instances are networked and reach the appliance: the run's private network on the
 * box (made when its first instance launches, given back once the run has ended and no VM is
 * left: a ledger listener), the agent-only listener on the box's loopback, or a remote host's
 * agent URL.
 */
export class RunPlacement {
  /** Networks released by this process (so a run's release is asked once). */
  private readonly released = new Set<string>();
  private lastSweep = 0;

  constructor(
    private readonly ledger: RunLedger,
    private readonly vms: VmTracker,
    private readonly options: PlacementOptions,
    private readonly now: () => Date,
  ) {
    ledger.onChange(({ run }) => (isFinal(run.state) ? this.releaseNetwork(run) : undefined));
  }

  /** At start: live runs' networks serve their agents again (made anew if libvirt lost them); ended ones go. */
  async resume(): Promise<void> {
    for (const run of this.ledger
      .runs()
      .filter((candidate) => !isFinal(candidate.state) || candidate.instances.some(holdsVm))) {
      const network = this.networkOf(run);
      if (network.mode === 'private' && network.prefix && this.options.networks)
        await this.options.networks.ensure(network, new Set()).catch(() => undefined);
    }
    await this.sweepNetworks(true).catch(() => undefined);
  }

  /** The run's network; runs made before networks were per run have user networking. */
  networkOf(run: StoredRun): RunNetwork {
    return run.network ?? legacyNetwork;
  }

  /** The run's private network once made (its subnet known), else null. */
  madeNetwork(run: StoredRun): MadeNetwork | null {
    const network = this.networkOf(run);
    return network.mode === 'private' && network.prefix
      ? { name: network.name, prefix: network.prefix, gateway: gatewayOf(network.prefix) }
      : null;
  }

  /** The fixed address of an instance on its run's private network. */
  addressOf(runId: string, instanceName: string): string | null {
    const run = this.ledger.runOf(runId);
    const vm = this.vms.findByNative(
      nodeOf(run, instanceOf(run, instanceName)).cloudId,
      vmName(runId, instanceName),
    );
    return vm?.ips[0] ?? null;
  }

  /**
   * Where an instance about to launch is networked and reaches the appliance: on its run's
   * private network (made now if it is not there yet, with the instance's DHCP and DNS entries);
   * else on user networking, through the agent-only listener on the box's loopback (the box
   * without bridges), or, on a remote host, the configured agent URL.
   */
  async placeOnNetwork(
    runId: string,
    instanceName: string,
    cloudId: string,
  ): Promise<{ network: VmSpec['network']; agentUrl: string }> {
    const run = this.ledger.runOf(runId);
    const network = this.networkOf(run);
    const { networks, agentListeners } = this.options;
    if (network.mode === 'private' && networks) {
      const taken = new Set(
        this.ledger
          .runs()
          .filter(
            (other) =>
              other.id !== runId && !isFinal(other.state) && other.network?.mode === 'private',
          )
          .map((other) => (other.network as { prefix: string | null }).prefix ?? ''),
      );
      const made = await networks.ensure(network, taken);
      if (network.prefix !== made.prefix) {
        await this.ledger.change(runId, 'appliance', (stored) => {
          stored.network = { mode: 'private', name: made.name, prefix: made.prefix };
          log(
            stored,
            'appliance',
            'network',
            `private network ${made.name} on ${made.prefix}.0/24`,
            this.now(),
          );
        });
      }
      const position = run.instances.findIndex((candidate) => candidate.name === instanceName);
      const { mac, address } = await networks.addInstance(made, instanceName, position);
      return {
        network: { mode: 'network', name: made.name, mac, address },
        agentUrl: `http://${made.gateway}:${agentPort}`,
      };
    }
    if (cloudId === boxCloudId && agentListeners) {
      // 10.0.2.2 is the host's loopback: the guest's agent URL is the agent-only listener there.
      return {
        network: { mode: 'user' },
        agentUrl: `http://10.0.2.2:${await agentListeners.loopbackPort()}`,
      };
    }
    return { network: { mode: 'user' }, agentUrl: this.options.agentUrl };
  }

  /** Removes an ended run's private network once none of its VMs is left. */
  async releaseNetwork(run: StoredRun): Promise<void> {
    const network = this.networkOf(run);
    if (
      network.mode !== 'private' ||
      !this.options.networks ||
      !isFinal(run.state) ||
      run.instances.some(holdsVm)
    )
      return;
    if (this.released.has(network.name)) return;
    this.released.add(network.name);
    await this.options.networks
      .release(network.name, network.prefix)
      .catch(() => this.released.delete(network.name)); // the sweep tries again
  }

  /**
   * Removes networks and firewall tables ended runs left (a crash), and those of runs that ended
   * now; at most every 30 s (the reconciler asks after each pass) unless `now`.
   */
  async sweepNetworks(now = false): Promise<void> {
    if (!this.options.networks || (!now && Date.now() - this.lastSweep < 30_000)) return;
    this.lastSweep = Date.now();
    const ended = this.ledger
      .runs()
      .filter(
        (run) =>
          isFinal(run.state) && !run.instances.some(holdsVm) && run.network?.mode === 'private',
      );
    await this.options.networks.sweep(
      new Set(ended.map((run) => (run.network as { name: string }).name)),
    );
  }
}
