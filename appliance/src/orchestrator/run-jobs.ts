import type { Clouds } from '../connectors/clouds.ts';
import type { VmSpec } from '../connectors/contract.ts';
import { log } from '../domain/run-machine.ts';
import { isFinal, type AbortReason } from '../domain/run-states.ts';
import {
  holdsVm,
  liveFootprint,
  type RunInstance,
  type RunNode,
  type StoredRun,
} from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import type { ImageStore } from '../host/images.ts';
import { hashSecret, newSecret } from '../secrets.ts';
import type { MainDocument, StoredJob } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import type { AgentTokens } from './agent-tokens.ts';
import { JobQueue } from './job-queue.ts';
import type { RunLedger } from './run-ledger.ts';
import { instanceOf, nodeOf, vmName } from './run-lookups.ts';
import type { MadeNetwork, RunNetworks } from './run-networks.ts';
import type { RunPlacement } from './run-placement.ts';
import type { RunTimings } from './run-timings.ts';
import type { Reservations } from './reservations.ts';
import type { VmTracker } from './vm-tracker.ts';

/** What the jobs of runs work with. */
export interface RunJobsDeps {
  store: Store<MainDocument>;
  ledger: RunLedger;
  clouds: Clouds;
  vms: VmTracker;
  images: ImageStore;
  reservations: Reservations;
  placement: RunPlacement;
  tokens: AgentTokens;
  timings: RunTimings;
  /** The image a node boots from, as its cloud's kind names it. */
  nativeImage(node: RunNode): string | null;
  abortRun(id: string, reason: AbortReason): Promise<void>;
  /** Sets a runtime parameter of a run (and the inputs mapped to it), as `actor`. */
  setParam(runId: string, key: string, value: string, actor: string): Promise<void>;
  now(): Date;
}

/**
 * The cloud work of runs, as idempotent jobs of a persistent queue (a restart runs again what was
 * pending): a launch records its VM in the one commit that puts its instance running, clearing
 * first what a launch a crash cut short left under its name; a termination leaves no VM; a job
 * given up fails its instance or aborts its run.
 */
export class RunJobs {
  readonly queue: JobQueue;

  constructor(
    private readonly deps: RunJobsDeps,
    private readonly options: {
      publicHost?: string | undefined;
      networks?: RunNetworks | null | undefined;
      concurrency?: number | undefined;
      retryMs?: number | undefined;
    },
  ) {
    this.queue = new JobQueue(
      deps.store,
      { launch: (job) => this.launchJob(job), terminate: (job) => this.terminateJob(job) },
      {
        concurrency: options.concurrency ?? 4,
        retryMs: options.retryMs ?? 1000,
        onGiveUp: (job, error) => this.gaveUp(job, error),
      },
    );
  }

  /** Queues the cloud work the run's state asks for; safe to call any number of times. */
  async plan(id: string): Promise<void> {
    const run = this.deps.store.data.runs.find((candidate) => candidate.id === id);
    if (!run) return;
    await this.queue.enqueue(jobsFor(run));
  }

  private async launchJob(job: StoredJob): Promise<void> {
    const run = this.deps.store.data.runs.find((candidate) => candidate.id === job.runId);
    if (!run) return;
    const instance = instanceOf(run, job.target);
    if (instance.state === 'running' || instance.state === 'failed' || instance.state === 'removed')
      return;
    if ((run.state !== 'Provisioning' && run.state !== 'Ready') || run.abort || run.terminating) {
      if (instance.state === 'launching') await this.adoptOrForget(run, instance);
      // What a launch a crash cut short may have left under this name goes with the run.
      else
        await this.deps.clouds
          .connector(nodeOf(run, instance).cloudId)
          .terminate([vmName(run.id, instance.name)]);
      return;
    }
    const node = nodeOf(run, instance);
    // A launch a crash interrupted: the VM may exist. Adopt it, or launch afresh.
    if (instance.state === 'launching' && (await this.adoptOrForget(run, instance))) return;
    const started = performance.now();
    const token = newSecret('bvi');
    try {
      const imageRef = this.deps.nativeImage(node);
      const imageId = imageRef ? (this.deps.images.find(imageRef)?.id ?? imageRef) : null;
      if (!imageId)
        throw new BivouacError(
          'BAD_IMAGE',
          `Node ${node.name} has no image for its cloud (nativeImages.<the cloud's kind>.imageId).`,
          { node: node.name, cloud: node.cloudId },
        );
      const where = await this.deps.placement.placeOnNetwork(run.id, instance.name, node.cloudId);
      const spec: VmSpec = {
        name: vmName(run.id, instance.name),
        title: `${run.title} ${instance.name}`,
        runId: run.id,
        instance: instance.name,
        owner: run.owner,
        vcpu: node.resources.vcpu,
        memoryMiB: node.resources.memoryMiB,
        diskGiB: node.resources.diskGiB,
        image: this.deps.images.bootImage(imageId),
        context: {
          'bivouac.url': where.agentUrl,
          'bivouac.run': run.id,
          'bivouac.instance': instance.name,
          'bivouac.token': token,
        },
        network: where.network,
        accelerator: 'auto',
      };
      // What a launch a crash cut short may have left under this name (a VM with no record, its
      // disk and seed) goes first: its guest holds a token that was never recorded.
      await this.deps.clouds.connector(node.cloudId).terminate([spec.name]);
      // One commit: the instance running on its VM's record, with its token and its job ended.
      // Until it is durable, the guest's agent is told to come back (VM_STARTING), not refused.
      const tokenHash = hashSecret(token);
      const launched = this.deps.tokens.launching(tokenHash, {
        runId: run.id,
        instance: instance.name,
      });
      try {
        await this.deps.vms.launch(node.cloudId, spec, run.reservationId, imageId, (vm, write) =>
          this.deps.ledger.change(
            run.id,
            'appliance',
            (stored) => {
              const target = instanceOf(stored, instance.name);
              target.state = 'running';
              target.vmId = vm.id;
              target.tokenHash = tokenHash;
              if (!target.completed.includes('Provisioning')) target.completed.push('Provisioning');
              log(
                stored,
                'appliance',
                'launched',
                `${instance.name} on ${node.cloudId}`,
                this.deps.now(),
              );
            },
            (document) => {
              write(document);
              this.queue.completeInside(document, job.id);
            },
          ),
        );
      } finally {
        launched();
      }
      this.deps.timings.record(run.id, 'launch', instance.name, started);
      const publishing = performance.now();
      await this.publishPorts(run.id, instance.name, node);
      this.deps.timings.record(run.id, 'publish', instance.name, publishing);
      await this.plan(run.id); // terminate may have been asked meanwhile
    } catch (error) {
      // An unreachable cloud is retried by the queue; anything else fails the instance now.
      if (error instanceof BivouacError && error.code === 'CLOUD_UNREACHABLE') throw error;
      await this.failInstance(run.id, instance.name, (error as Error).message);
      this.deps.timings.record(run.id, 'launch', `${instance.name} (failed)`, started);
    }
  }

  /**
   * Publishes the node's declared ports and records their URLs as `<instance>:url.<port>`; the
   * first web port is also `<instance>:url.service` and, unless set, `run:url.service`. A port
   * that cannot be published is logged, not fatal.
   */
  private async publishPorts(runId: string, instanceName: string, node: RunNode): Promise<void> {
    const network = this.deps.placement.madeNetwork(this.deps.ledger.runOf(runId));
    if (network) return this.publishPrivate(runId, instanceName, node, network);
    const connector = this.deps.clouds.connector(node.cloudId);
    if (!connector.publish) return;
    for (const port of node.ports) {
      const published = await connector
        .publish(vmName(runId, instanceName), port.port)
        .catch(async (error: unknown) => {
          await this.deps.ledger.change(runId, 'appliance', (run) =>
            log(
              run,
              'appliance',
              'publish failed',
              `${instanceName} port ${port.port}: ${this.deps.clouds.redact(node.cloudId, (error as Error).message)}`,
              this.deps.now(),
            ),
          );
          return null;
        });
      if (!published) continue;
      const host = published.host || this.options.publicHost || '127.0.0.1';
      await this.recordUrls(
        runId,
        instanceName,
        port,
        linkTo(port.protocol, host, published.port),
        null,
      );
    }
  }

  /**
   * On a private network: `<instance>:url.<port>` is the guest's own address on the run's
   * network (what other tiers use, and what mappings carry); the port is also published to the
   * LAN by DNAT from the box's address, as `<instance>:url.public.<port>` and the service URLs.
   */
  private async publishPrivate(
    runId: string,
    instanceName: string,
    node: RunNode,
    network: MadeNetwork,
  ): Promise<void> {
    const instance = instanceOf(this.deps.ledger.runOf(runId), instanceName);
    const address = this.deps.placement.addressOf(runId, instance.name);
    if (!address || !this.options.networks) return;
    for (const port of node.ports) {
      const published = await this.options.networks
        .publish(network, address, port.port)
        .catch(async (error: unknown) => {
          await this.deps.ledger.change(runId, 'appliance', (run) =>
            log(
              run,
              'appliance',
              'publish failed',
              `${instanceName} port ${port.port}: ${(error as Error).message}`,
              this.deps.now(),
            ),
          );
          return null;
        });
      await this.deps.setParam(
        runId,
        `${instanceName}:url.${port.name}`,
        linkTo(port.protocol, address, port.port),
        'appliance',
      );
      // The LAN reaches it at the box's address: a configured public name stays in the link, loopback does not.
      const host =
        this.options.publicHost && !/^(127\.|localhost$|::1$)/.test(this.options.publicHost)
          ? this.options.publicHost
          : published?.host;
      if (published && host)
        await this.recordUrls(
          runId,
          instanceName,
          port,
          linkTo(port.protocol, host, published.port),
          `${instanceName}:url.public.${port.name}`,
        );
    }
  }

  /** Records a published port's link, and the first web one as the instance's and run's service URL. */
  private async recordUrls(
    runId: string,
    instanceName: string,
    port: RunNode['ports'][number],
    url: string,
    key: string | null,
  ): Promise<void> {
    await this.deps.setParam(runId, key ?? `${instanceName}:url.${port.name}`, url, 'appliance');
    const run = this.deps.ledger.runOf(runId);
    if (port.protocol !== 'tcp' && run.params[`${instanceName}:url.service`] === undefined)
      await this.deps.setParam(runId, `${instanceName}:url.service`, url, 'appliance');
    if (
      port.protocol !== 'tcp' &&
      this.deps.ledger.runOf(runId).params['run:url.service'] === undefined
    )
      await this.deps.setParam(runId, 'run:url.service', url, 'appliance');
  }

  /** Adopts a VM an interrupted launch left, or puts the instance back to pending. True if adopted. */
  private async adoptOrForget(run: StoredRun, instance: RunInstance): Promise<boolean> {
    const node = nodeOf(run, instance);
    const vm = this.deps.vms.findByNative(node.cloudId, vmName(run.id, instance.name));
    if (vm && vm.state !== 'launching') {
      await this.deps.ledger.change(run.id, 'appliance', (stored) => {
        const target = instanceOf(stored, instance.name);
        target.state = 'running';
        target.vmId = vm.id;
        if (!target.completed.includes('Provisioning')) target.completed.push('Provisioning');
      });
      await this.plan(run.id);
      return true;
    }
    if (vm) await this.deps.vms.terminate(vm.id).catch(() => undefined);
    await this.deps.clouds.connector(node.cloudId).terminate([vmName(run.id, instance.name)]);
    await this.deps.ledger.change(run.id, 'appliance', (stored) => {
      instanceOf(stored, instance.name).state = 'pending';
    });
    return false;
  }

  private async terminateJob(job: StoredJob): Promise<void> {
    const run = this.deps.store.data.runs.find((candidate) => candidate.id === job.runId);
    if (!run) return;
    const instance = instanceOf(run, job.target);
    const node = nodeOf(run, instance);
    const vm = instance.vmId
      ? this.deps.vms.all().find((candidate) => candidate.id === instance.vmId)
      : this.deps.vms.findByNative(node.cloudId, vmName(run.id, instance.name));
    // A launch under way is let finish first (the queue retries this job), so the two never race.
    if (this.deps.vms.isLaunching(node.cloudId, vmName(run.id, instance.name)))
      throw new Error(`${instance.name} is still launching`);
    if (vm) await this.deps.vms.terminate(vm.id);
    else await this.deps.clouds.connector(node.cloudId).terminate([vmName(run.id, instance.name)]);
    await this.deps.ledger.change(run.id, 'appliance', (stored) => {
      const target = instanceOf(stored, instance.name);
      target.state = 'removed';
      target.tokenHash = null;
      log(stored, 'appliance', 'terminated', instance.name, this.deps.now());
    });
    const after = this.deps.ledger.runOf(run.id);
    // A scale-down gives back what the removed instance held.
    if (!isFinal(after.state) && after.state !== 'Finalizing' && after.reservationId) {
      await this.deps.reservations
        .resize(after.reservationId, liveFootprint(after))
        .catch(() => undefined);
    }
  }

  private async failInstance(runId: string, instanceName: string, message: string): Promise<void> {
    // A launch that failed part way may have left a domain, disk or seed behind: none is kept
    // (best effort: an unreachable cloud is left to the reconciler, which reports what it finds).
    // A VM the tracker follows (a launch that did succeed, one adopted, one under way) is left to
    // the paths that follow it.
    const run = this.deps.ledger.runOf(runId);
    const instance = instanceOf(run, instanceName);
    const node = nodeOf(run, instance);
    const tracked = this.deps.vms.findByNative(node.cloudId, vmName(runId, instanceName));
    if (instance.state !== 'running' && instance.vmId === null && !tracked) {
      await this.deps.clouds
        .connector(node.cloudId)
        .terminate([vmName(runId, instanceName)])
        .catch(() => undefined);
    }
    const said = this.deps.clouds.redact(node.cloudId, message);
    await this.deps.ledger.change(runId, 'appliance', (run) => {
      const instance = instanceOf(run, instanceName);
      instance.state = 'failed';
      instance.tokenHash = null;
      instance.error = said;
      log(run, 'appliance', 'launch failed', `${instanceName}: ${said}`, this.deps.now());
    });
    await this.plan(runId);
  }

  private async gaveUp(job: StoredJob, error: Error): Promise<void> {
    if (job.kind === 'launch') await this.failInstance(job.runId, job.target, error.message);
    else {
      const run = this.deps.ledger.runOf(job.runId);
      const { cloudId } = nodeOf(run, instanceOf(run, job.target));
      await this.deps.abortRun(job.runId, {
        source: 'reconciler',
        message: `could not terminate ${job.target}: ${this.deps.clouds.redact(cloudId, error.message)}`,
        by: 'appliance',
        at: this.deps.now().toISOString(),
      });
    }
  }
}

/** The cloud work a run's state asks for: launches while it provisions or runs, terminations as it ends. */
export function jobsFor(run: StoredRun): Pick<StoredJob, 'kind' | 'runId' | 'target'>[] {
  const jobs: Pick<StoredJob, 'kind' | 'runId' | 'target'>[] = [];
  if ((run.state === 'Provisioning' || run.state === 'Ready') && !run.abort && !run.terminating)
    for (const instance of run.instances)
      if (instance.state === 'pending' || instance.state === 'launching')
        jobs.push({ kind: 'launch', runId: run.id, target: instance.name });
  const ending = run.state === 'Finalizing' || run.terminating;
  for (const instance of run.instances)
    if (instance.state === 'removing' || (ending && holdsVm(instance)))
      jobs.push({ kind: 'terminate', runId: run.id, target: instance.name });
  return jobs;
}

/** A port's link: `http://host:port/`, or `tcp://host:port`. */
function linkTo(protocol: string, host: string, port: number): string {
  return protocol === 'tcp' ? `tcp://${host}:${port}` : `${protocol}://${host}:${port}/`;
}
