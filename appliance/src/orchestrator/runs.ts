import type { ModulePin, Modules } from '../library/modules.ts';
import type { Clouds } from '../connectors/clouds.ts';
import {
  sameRules,
  type Access,
  type AclRule,
  type Action,
  type Subject,
} from '../domain/access.ts';
import type { Reservation } from '../domain/capacity.ts';
import { domainEvent } from '../domain/events.ts';
import type { VmAfterReady } from '../domain/vms.ts';
import { limits } from '../domain/limits.ts';
import {
  isFinal,
  stateDeadline,
  type AbortReason,
  type RunState,
  type StateTimeouts,
} from '../domain/run-states.ts';
import {
  liveFootprint,
  liveInstances,
  footprint,
  initialParams,
  planInstances,
  secretKeysOf,
  type RunNode,
  type StoredRun,
} from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import type { ImageStore } from '../host/images.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { RunArchive } from '../store/run-archive.ts';
import type { Store } from '../store/store.ts';
import { advance, log, setAbort, shownLog, transition } from '../domain/run-machine.ts';
import { AgentTokens, type AgentIdentity } from './agent-tokens.ts';
import { ParamWaits } from './param-waits.ts';
import type { CreateRun, DeployPlan } from './deploy-plan.ts';
import { RunAgents } from './run-agents.ts';
import { invalid } from './run-errors.ts';
import { jobsFor, RunJobs } from './run-jobs.ts';
import { RunLedger } from './run-ledger.ts';
import { instanceOf, nodeOf, vmName } from './run-lookups.ts';
import { RunPlacement } from './run-placement.ts';
import { RunPlanner } from './run-planner.ts';
import { RunUpgrades } from './run-upgrades.ts';
import { RunQueries } from './run-queries.ts';
import { RunTimings } from './run-timings.ts';
import type { Reservations } from './reservations.ts';
import type { VmTracker } from './vm-tracker.ts';
import type { AgentListeners, RunNetworks } from './run-networks.ts';

export interface RunsOptions {
  /**
   * The URL guests reach the appliance at (context `bivouac.url`) where neither a private network
   * nor the box's agent listeners serve them: guests on remote hosts, and tests.
   */
  agentUrl: string;
  /** Private networks per run, where the box allows them (root, bridges, nftables). */
  networks?: RunNetworks | null;
  /** The agent listener on loopback, for user networking on the box (where bridges are not allowed). */
  agentListeners?: AgentListeners | null;
  /** The box's name or address in the service URLs of ports it forwards. */
  publicHost?: string;
  /** Finished runs moved out of the main document; lists, counts and reads include them. */
  archive: RunArchive;
  /** Launches at once. */
  concurrency?: number;
  /** Job retry backoff (tests shorten it). */
  retryMs?: number;
  now?: () => Date;
}

/**
 * Runs and their orchestration. Every change of a run goes through the ledger (run-ledger.ts),
 * which applies it, moves the state machine as far as it can (barriers, aborts, terminate,
 * Finalizing) and commits in one durable update, then tells the listeners registered here;
 * work on clouds is done by idempotent jobs of a persistent queue, so a restart resumes or
 * cleanly ends every run.
 */
export class Runs {
  /** The read side: one run, lists, counts, parameters and logs, archived runs included. */
  readonly queries: RunQueries;
  /** The one durable way to change a run, and who hears of each change. */
  private readonly ledger: RunLedger;
  /** Where instances are networked and reach the appliance; runs' private networks. */
  private readonly placement: RunPlacement;
  /** Upgrades deployed beside their run, followed to a switch or a roll-back. */
  private readonly upgrades: RunUpgrades;
  /** What guest agents do: read and set parameters, report, abort, log. */
  private readonly agents: RunAgents;
  /** Deploys planned: modules reached, nodes resolved, parameters checked, the run made. */
  private readonly planner: RunPlanner;
  /** The cloud work of runs: launches and terminations, as jobs of a persistent queue. */
  private readonly jobs: RunJobs;
  /** Reads parked until a change sets their parameter. */
  private readonly waits = new ParamWaits();
  /** Where the appliance spent time on each recent run while someone waited on it. */
  readonly timings = new RunTimings();
  /** The guest agents' tokens by hash. */
  private readonly tokens = new AgentTokens();
  /** One timer, for the next state deadline of any run (none while nothing can time out). */
  private ticker: NodeJS.Timeout | null = null;
  private started = false;
  private stopping = false;
  private readonly afterReadyListeners = new Set<(change: VmAfterReady) => void>();

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    modules: Modules,
    private readonly clouds: Clouds,
    private readonly reservations: Reservations,
    private readonly vms: VmTracker,
    images: ImageStore,
    private readonly options: RunsOptions,
  ) {
    this.queries = new RunQueries(store, options.archive);
    this.planner = new RunPlanner(modules, clouds, images, options.networks ?? null, {
      nativeImage: (node) => this.nativeImage(node),
      now: () => this.now(),
    });
    this.ledger = new RunLedger(store, events, reservations, () => this.now());
    // What follows each committed change, registered here, in this order.
    this.ledger.onChange(({ run }) => this.tokens.index(run));
    this.ledger.onChange(() => this.scheduleDeadline());
    this.ledger.onChange(({ before, run, started }) => {
      if (run.state === before) return;
      this.timings.record(run.id, 'state', run.state, performance.now());
      this.waits.wake(run.id, 'run:state', started);
      // An ended run answers every read still waiting on it.
      if (isFinal(run.state)) this.waits.wakeRun(run.id, started);
    });
    this.upgrades = new RunUpgrades(this.ledger, this.queries, {
      create: (...args) => this.create(...args),
      planDeploy: (...args) => this.planDeploy(...args),
      plan: (id) => this.plan(id),
      now: () => this.now(),
    });
    this.agents = new RunAgents(this.ledger, this.tokens, this.waits, {
      isStopping: () => this.stopping,
      abortRun: (id, reason) => this.abortRun(id, reason),
      now: () => this.now(),
    });
    this.placement = new RunPlacement(this.ledger, vms, options, () => this.now());
    this.jobs = new RunJobs(
      {
        store,
        ledger: this.ledger,
        clouds,
        vms,
        images,
        reservations,
        placement: this.placement,
        tokens: this.tokens,
        timings: this.timings,
        nativeImage: (node) => this.nativeImage(node),
        abortRun: (id, reason) => this.abortRun(id, reason),
        setParam: (runId, key, value, actor) => this.setParam(runId, key, value, actor),
        now: () => this.now(),
      },
      options,
    );
    for (const run of store.data.runs) this.tokens.index(run);
    vms.onStateChange((vm, from) => {
      // A launch ending (from `launching`) is the run's own work, a scale-up's too.
      if (from === 'launching') return;
      const run = this.store.data.runs.find((candidate) => candidate.id === vm.runId);
      if (run?.state !== 'Ready') return;
      for (const listener of this.afterReadyListeners)
        listener({ runId: vm.runId, instance: vm.instance, from, vm });
    });
  }

  /**
   * Told when a VM of a Ready run changes state on its cloud (paused, stopped, crashed, gone,
   * running again): the hook health checks and alerts build on. Changes before Ready are the
   * run's own progress and are not told here.
   */
  onVmAfterReady(listener: (change: VmAfterReady) => void): () => void {
    this.afterReadyListeners.add(listener);
    return () => this.afterReadyListeners.delete(listener);
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /** Resumes every run: queued jobs run again, and each live run is advanced and re-planned. */
  async start(): Promise<void> {
    await this.placement.resume();
    for (const run of this.store.data.runs.filter((candidate) => !isFinal(candidate.state))) {
      await this.ledger.change(run.id, 'appliance', (stored) => {
        // Stored by `create` but stopped before its next step (a crash): it goes on as create would have.
        if (stored.state === 'Initializing' && !stored.terminating && !stored.abort)
          transition(stored, 'Provisioning', 'appliance', this.now());
      });
      await this.plan(run.id);
    }
    this.jobs.queue.start();
    this.started = true;
    this.scheduleDeadline();
  }

  /** Ends waiting reads at once (their requests answer), then waits for jobs under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    if (this.ticker) clearTimeout(this.ticker);
    this.waits.endAll();
    await this.jobs.queue.stop();
  }

  /** Resolves when no job is pending (tests, benchmarks). */
  idle(): Promise<void> {
    return this.jobs.queue.idle();
  }

  // ---- creating and reading ----

  /**
   * Deploys a module version. Every module it reaches (the module, node images, parent chains)
   * needs view and run rights of `subject`, except the exact versions in `granted`: an app's
   * pinned modules, which deploying the app may reach on its publisher's authority.
   * `screenId`: the box screen (kiosk session) it is started from, kept on the run. The run is
   * made from `planned` when the caller planned it already (the app store's pre-flight), so a
   * deploy resolves its module once.
   */
  async create(
    subject: Subject,
    request: CreateRun,
    upgradeOf: string | null = null,
    granted: readonly ModulePin[] = [],
    screenId: string | null = null,
    planned: DeployPlan | null = null,
  ): Promise<StoredRun> {
    if (subject.role === 'viewer')
      throw new BivouacError('FORBIDDEN', 'Viewers may not deploy.', { requiredRole: 'operator' });
    const plan =
      planned?.asked === request.module && planned.subject === subject.userId
        ? planned
        : this.planDeploy(subject, request, granted);
    const run = this.planner.newRun(subject, request, plan, upgradeOf, screenId);
    const { id } = run;
    const started = performance.now();
    // One durable commit: the reservation, the run (already provisioning) and its first jobs. A
    // refusal (no capacity, over quota) or a failed write leaves none of them.
    const created = await this.store.update((document) => {
      // A new run takes a run slot (an upgrade runs beside the run it replaces, in its slot).
      if (!upgradeOf) takeRunSlot(document, subject.userId);
      run.reservationId = this.reservations.reserveInside(
        document,
        subject.userId,
        `run:${id}`,
        footprint(run.nodes),
      ).id;
      transition(run, 'Provisioning', subject.userId, this.now());
      advance(run, subject.userId, this.now());
      document.runs.push(run);
      this.jobs.queue.enqueueInside(document, jobsFor(run));
      return structuredClone(run);
    });
    this.reservations.reserved();
    this.ledger.announce(created, 'run.created', { state: 'Initializing', log: [] });
    await this.ledger.tell({
      before: 'Initializing',
      run: created,
      started,
      appended: shownLog(created, created.log),
    });
    this.jobs.queue.jobsAdded();
    return this.get(subject, id);
  }

  /** See RunPlanner.planDeploy. */
  planDeploy(
    subject: Subject,
    request: Pick<CreateRun, 'module' | 'placement' | 'multiplicity'>,
    granted: readonly ModulePin[] = [],
  ): DeployPlan {
    return this.planner.planDeploy(subject, request, granted);
  }

  /** A run of the main document `subject` may act on (see RunQueries.get). */
  get(subject: Subject, id: string, action: Action = 'view'): StoredRun {
    return this.queries.get(subject, id, action);
  }

  /** The image `node` boots from, as its cloud's kind names it; null when it names none. */
  nativeImage(node: Pick<RunNode, 'cloudId' | 'nativeImages'>): string | null {
    return this.clouds.nativeImage(node.cloudId, node.nativeImages);
  }

  /** The run's log as shown to people: no current secret value in it, however old the entry. */

  // ---- actions ----

  /** Ends the run from any state, leaving no VM behind. Repeating it is harmless. */
  async terminate(subject: Subject, id: string): Promise<StoredRun> {
    this.get(subject, id, 'manage');
    await this.ledger.change(id, subject.userId, (run) => {
      if (run.terminating) return;
      run.terminating = true;
      log(run, subject.userId, 'terminate', 'asked to terminate', this.now());
    });
    await this.plan(id);
    return this.get(subject, id);
  }

  /**
   * Replaces the run's sharing rules. With `expected` (the rules the change was made from), a
   * change made meanwhile by someone else is refused instead of overwritten. `run.shared` goes to
   * those who could view the run before and those who can now, so a screen that lost the run
   * drops it at once.
   */
  async setAcl(
    subject: Subject,
    id: string,
    acl: AclRule[],
    expected?: AclRule[],
  ): Promise<StoredRun> {
    const before = access(this.get(subject, id, 'manage'));
    const shared = await this.store.update((document) => {
      const run = document.runs.find((candidate) => candidate.id === id)!;
      if (expected && !sameRules(run.acl, expected)) {
        throw new BivouacError(
          'ACL_CHANGED',
          `The sharing rules of run ${id} were changed meanwhile; look at them again and redo your change.`,
          { acl: structuredClone(run.acl) },
        );
      }
      run.acl = structuredClone(acl);
      run.updatedAt = this.now().toISOString();
      log(
        run,
        subject.userId,
        'shared',
        acl.length === 0
          ? 'only its owner and administrators'
          : `${acl.length} rule${acl.length === 1 ? '' : 's'}`,
        this.now(),
      );
      return structuredClone(run);
    });
    this.events.append(
      domainEvent(
        'run.shared',
        id,
        { owner: before.owner, acl: [...before.acl, ...shared.acl] },
        {},
      ),
    );
    return shared;
  }

  async abort(subject: Subject, id: string, reason: string): Promise<StoredRun> {
    this.get(subject, id, 'manage');
    await this.abortRun(id, {
      source: 'user',
      message: reason,
      by: subject.userId,
      at: this.now().toISOString(),
    });
    return this.get(subject, id);
  }

  /**
   * Adds or removes instances of a node while the run is Ready. Growing reserves the extra
   * footprint first (quota checked); shrinking removes the highest-numbered instances. The other
   * instances learn of it through `run:scale` ("<n> add|remove <instances>") and run
   * onNodeAdd/onNodeRemove.
   */
  async scale(
    subject: Subject,
    id: string,
    nodeName: string,
    multiplicity: number,
  ): Promise<StoredRun> {
    const started = performance.now();
    const run = this.get(subject, id, 'manage');
    if (run.state !== 'Ready' || run.terminating || run.abort) {
      throw new BivouacError(
        'WRONG_STATE',
        `Run ${id} is ${run.terminating ? 'terminating' : run.state}; scaling is allowed only in Ready.`,
        { state: run.state },
      );
    }
    const node = run.nodes.find((candidate) => candidate.name === nodeName);
    if (!node)
      throw invalid(
        'node',
        `no node ${nodeName}; nodes: ${run.nodes.map((candidate) => candidate.name).join(', ')}`,
      );
    const live = liveInstances(run).filter((instance) => instance.node === nodeName);
    const delta = multiplicity - live.length;
    if (delta === 0) return run;
    const kept = liveFootprint(run);
    const wanted = {
      vms: kept.vms + delta,
      vcpu: kept.vcpu + delta * node.resources.vcpu,
      memoryMiB: kept.memoryMiB + delta * node.resources.memoryMiB,
      diskGiB: kept.diskGiB + delta * node.resources.diskGiB,
    };
    if (delta > 0 && run.reservationId) await this.reservations.resize(run.reservationId, wanted);
    await this.ledger.change(id, subject.userId, (stored) => {
      const target = stored.nodes.find((candidate) => candidate.name === nodeName)!;
      target.multiplicity = multiplicity;
      let names: string[];
      if (delta > 0) {
        const next =
          Math.max(
            0,
            ...stored.instances
              .filter((instance) => instance.node === nodeName)
              .map((instance) => instance.index),
          ) + 1;
        const added = planInstances([{ ...target, multiplicity: delta }]).map((instance, i) => ({
          ...instance,
          index: next + i,
          name: `${nodeName}.${next + i}`,
        }));
        stored.instances.push(...added);
        for (const instance of added) {
          Object.assign(stored.params, initialParams(target, instance.name, {}));
          for (const [input, mapping] of Object.entries(target.mappings)) {
            if (!('output' in mapping)) continue;
            const [source, output] = mapping.output.split(':');
            const value = stored.params[`${source}.1:${output}`];
            if (value !== undefined) stored.params[`${instance.name}:${input}`] = value;
          }
        }
        stored.secretKeys = secretKeysOf(stored.nodes, stored.instances);
        names = added.map((instance) => instance.name);
      } else {
        const removed = liveInstances(stored)
          .filter((instance) => instance.node === nodeName)
          .sort((a, b) => b.index - a.index)
          .slice(0, -delta);
        for (const instance of removed) instance.state = 'removing';
        names = removed.map((instance) => instance.name);
      }
      const sequence = stored.log.filter((entry) => entry.action === 'scale').length + 1;
      stored.params['run:scale'] = `${sequence} ${delta > 0 ? 'add' : 'remove'} ${names.join(' ')}`;
      log(
        stored,
        subject.userId,
        'scale',
        `${nodeName}: ${live.length} → ${multiplicity} (${delta > 0 ? 'add' : 'remove'} ${names.join(', ')})`,
        this.now(),
      );
    });
    this.waits.wake(id, 'run:scale', started);
    await this.plan(id);
    return this.get(subject, id);
  }

  /** See RunUpgrades.upgrade. */
  upgrade(subject: Subject, id: string, module: string): Promise<StoredRun> {
    return this.upgrades.upgrade(subject, id, module);
  }

  /** Where an instance's console log is kept, if this appliance can read it. */
  consoleLog(subject: Subject, id: string, instanceName: string): string | null {
    const run = this.get(subject, id);
    const instance = instanceOf(run, instanceName);
    const node = nodeOf(run, instance);
    return this.clouds.connector(node.cloudId).consoleLog?.(vmName(run.id, instance.name)) ?? null;
  }

  // ---- the agent side (RunAgents) ----

  authenticateAgent(token: string | undefined): AgentIdentity | null {
    return this.agents.authenticate(token);
  }

  runFor(agent: AgentIdentity): StoredRun {
    return this.ledger.runOf(agent.runId);
  }

  waitingReads(runId: string, key: string): number {
    return this.agents.waitingReads(runId, key);
  }

  getParam(...args: Parameters<RunAgents['getParam']>): Promise<string | null> {
    return this.agents.getParam(...args);
  }

  agentSetParam(agent: AgentIdentity, key: string, value: string): Promise<void> {
    return this.agents.agentSetParam(agent, key, value);
  }

  setParam(runId: string, key: string, value: string, actor: string): Promise<void> {
    return this.agents.setParam(runId, key, value, actor);
  }

  complete(agent: AgentIdentity, state: RunState): Promise<void> {
    return this.agents.complete(agent, state);
  }

  agentAbort(agent: AgentIdentity, reason: string): Promise<void> {
    return this.agents.agentAbort(agent, reason);
  }

  agentLog(agent: AgentIdentity, text: string): Promise<void> {
    return this.agents.agentLog(agent, text);
  }

  // ---- hooks for the reconciler ----

  /** A VM vanished behind the appliance's back: its instance failed; the run aborts if it was running. */
  async vmVanished(runId: string, instanceName: string, reason: string): Promise<void> {
    const run = this.store.data.runs.find((candidate) => candidate.id === runId);
    if (!run || isFinal(run.state) || run.state === 'Finalizing' || run.terminating) return;
    const instance = run.instances.find((candidate) => candidate.name === instanceName);
    // Only a VM the run still counts on matters; one being removed was meant to go.
    if (!instance || (instance.state !== 'running' && instance.state !== 'launching')) return;
    // A launch a crash cut short left a record and no VM: the run's launch job redoes it (it
    // adopts or forgets what the crash left), so this is not a loss to abort the run for.
    if (instance.state === 'launching' && reason === 'launch interrupted') {
      await this.plan(runId);
      return;
    }
    const abort: AbortReason = {
      source: 'reconciler',
      message: `${instanceName}'s VM vanished: ${reason}`,
      by: 'appliance',
      at: this.now().toISOString(),
    };
    // One step: the abort's reason is the vanishing, not the failed instance it leaves.
    await this.ledger.change(runId, 'appliance', (stored) => {
      const target = instanceOf(stored, instanceName);
      target.state = 'failed';
      target.tokenHash = null;
      target.error = reason;
      setAbort(stored, abort, this.now());
    });
    await this.plan(runId);
  }

  /**
   * Is this VM one a run's launch makes or clears: under way now, or cut short by a crash (its
   * instance still waits for a launch, whose job clears what it finds under the name first)?
   */
  willLaunchOrClear(cloudId: string, nativeId: string): boolean {
    if (this.vms.isLaunching(cloudId, nativeId)) return true;
    return this.store.data.jobs.some((job) => {
      if (job.kind !== 'launch' || vmName(job.runId, job.target) !== nativeId) return false;
      const run = this.store.data.runs.find((candidate) => candidate.id === job.runId);
      const instance = run?.instances.find((candidate) => candidate.name === job.target);
      return !!run && !!instance && nodeOf(run, instance).cloudId === cloudId;
    });
  }

  /** See RunPlacement.sweepNetworks (the reconciler asks after each pass over the box). */
  sweepNetworks(now = false): Promise<void> {
    return this.placement.sweepNetworks(now);
  }

  /** Does a live run hold this reservation? */
  holds(reservation: Reservation): boolean {
    return this.store.data.runs.some(
      (run) => run.reservationId === reservation.id && !isFinal(run.state),
    );
  }

  // ---- the machine ----

  private async abortRun(id: string, reason: AbortReason): Promise<void> {
    await this.ledger.change(id, reason.by, (run) => setAbort(run, reason, this.now()));
    await this.plan(id);
  }

  /** Queues the cloud work the run's state asks for; safe to call any number of times. */
  private plan(id: string): Promise<void> {
    return this.jobs.plan(id);
  }

  private async checkDeadlines(): Promise<void> {
    const now = this.now();
    for (const run of this.store.data.runs) {
      if (isFinal(run.state) || run.abort) continue;
      const deadline = stateDeadline(run.state, new Date(run.stateEnteredAt), run.timeouts);
      if (deadline && deadline <= now) {
        await this.abortRun(run.id, {
          source: 'timeout',
          message: `${run.state} took longer than ${run.timeouts[run.state as keyof StateTimeouts]} s`,
          by: 'appliance',
          at: now.toISOString(),
        });
      }
    }
    this.scheduleDeadline();
  }

  /** Sets the one timer for the earliest deadline among live runs; called after every change. */
  private scheduleDeadline(): void {
    if (!this.started) return;
    if (this.ticker) clearTimeout(this.ticker);
    this.ticker = null;
    let earliest = Number.POSITIVE_INFINITY;
    for (const run of this.store.data.runs) {
      if (isFinal(run.state) || run.abort) continue;
      const deadline = stateDeadline(run.state, new Date(run.stateEnteredAt), run.timeouts);
      if (deadline) earliest = Math.min(earliest, deadline.getTime());
    }
    if (!Number.isFinite(earliest)) return;
    const delay = Math.min(Math.max(0, earliest - this.now().getTime()) + 5, 2 ** 31 - 1);
    this.ticker = setTimeout(() => void this.checkDeadlines(), delay);
    this.ticker.unref();
  }
}

function access(run: StoredRun): Access {
  return { owner: run.owner, acl: run.acl };
}

/**
 * Refuses a new run past the owner's live runs (their quota's `runs`, else the box's default):
 * checked inside the deploy's one commit, so concurrent deploys cannot overshoot it.
 */
function takeRunSlot(document: MainDocument, owner: string): void {
  const allowed = document.quotas[owner]?.runs ?? limits.liveRunsPerUser;
  const held = document.runs.filter((run) => run.owner === owner && !isFinal(run.state)).length;
  if (held + 1 > allowed)
    throw new BivouacError(
      'QUOTA_EXCEEDED',
      `Too many live runs: your quota allows ${allowed}, and ${held} are live (each counts one, even one that reserves nothing); terminate one first.`,
      { scope: 'user', resource: 'runs', held, asked: 1, allowed },
    );
}
