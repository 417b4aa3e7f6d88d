import type { ModulePin, Modules } from '../library/modules.ts';
import type { Clouds } from '../connectors/clouds.ts';
import {
  sameRules,
  type Access,
  type AclRule,
  type Action,
  type Subject,
} from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import { isFinal, type AbortReason } from '../domain/run-states.ts';
import { footprint, type RunNode, type StoredRun } from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import type { ImageStore } from '../host/images.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { RunArchive } from '../store/run-archive.ts';
import type { RunLogs } from '../store/run-logs.ts';
import type { Store } from '../store/store.ts';
import { advance, log, setAbort, shownLog, transition } from '../domain/run-machine.ts';
import { AgentTokens } from './agent-tokens.ts';
import { ParamWaits } from './param-waits.ts';
import type { CreateRun, DeployPlan } from './deploy-plan.ts';
import { RunAgents } from './run-agents.ts';
import { jobsFor, RunJobs } from './run-jobs.ts';
import { RunDeadlines } from './run-deadlines.ts';
import { RunVmWatch } from './run-vm-watch.ts';
import { scaleRun } from './run-scaling.ts';
import { RunLedger } from './run-ledger.ts';
import { instanceOf, nodeOf, vmName } from './run-lookups.ts';
import { RunPlacement } from './run-placement.ts';
import { RunPlanner } from './run-planner.ts';
import { RunUpgrades } from './run-upgrades.ts';
import { RunQueries } from './run-queries.ts';
import { RunTimings } from './run-timings.ts';
import { takeRunSlot, type Reservations } from './reservations.ts';
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
  /** Run logs, a file per run (`<dataDir>/run-logs`). */
  logs: RunLogs;
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
  readonly agents: RunAgents;
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
  /** Each state's time limit: one timer for the earliest deadline. */
  private readonly deadlines: RunDeadlines;
  private stopping = false;
  /** A Ready run's VMs changing state, and what the reconciler asks and tells of runs' VMs. */
  readonly vmWatch: RunVmWatch;

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    modules: Modules,
    private readonly clouds: Clouds,
    private readonly reservations: Reservations,
    vms: VmTracker,
    images: ImageStore,
    private readonly options: RunsOptions,
  ) {
    this.queries = new RunQueries(store, options.archive, options.logs);
    this.planner = new RunPlanner(modules, clouds, images, options.networks ?? null, {
      nativeImage: (node) => this.nativeImage(node),
      now: () => this.now(),
    });
    this.ledger = new RunLedger(store, events, reservations, options.logs, () => this.now());
    // What follows each committed change, registered here, in this order.
    this.ledger.onChange(({ run }) => this.tokens.index(run));
    this.deadlines = new RunDeadlines({
      runs: () => this.ledger.runs(),
      abortRun: (id, reason) => this.abortRun(id, reason),
      now: () => this.now(),
    });
    this.ledger.onChange(() => this.deadlines.schedule());
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
        setParam: (runId, key, value, actor) => this.agents.setParam(runId, key, value, actor),
        now: () => this.now(),
      },
      options,
    );
    for (const run of store.data.runs) this.tokens.index(run);
    this.vmWatch = new RunVmWatch({
      store,
      ledger: this.ledger,
      vms,
      plan: (id) => this.plan(id),
      now: () => this.now(),
    });
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /** See RunLedger.settleLogs. */
  settleLogs(): Promise<void> {
    return this.ledger.settleLogs();
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
    this.deadlines.start();
  }

  /** Ends waiting reads at once (their requests answer), then waits for jobs under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.deadlines.stop();
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
    await this.ledger.change(id, subject.userId, (run) => {
      if (expected && !sameRules(run.acl, expected)) {
        throw new BivouacError(
          'ACL_CHANGED',
          `The sharing rules of run ${id} were changed meanwhile; look at them again and redo your change.`,
          { acl: structuredClone(run.acl) },
        );
      }
      run.acl = structuredClone(acl);
      log(
        run,
        subject.userId,
        'shared',
        acl.length === 0
          ? 'only its owner and administrators'
          : `${acl.length} rule${acl.length === 1 ? '' : 's'}`,
        this.now(),
      );
    });
    this.events.append(
      domainEvent('run.shared', id, { owner: before.owner, acl: [...before.acl, ...acl] }, {}),
    );
    return this.get(subject, id);
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

  /** See scaleRun (run-scaling.ts). */
  async scale(
    subject: Subject,
    id: string,
    nodeName: string,
    multiplicity: number,
  ): Promise<StoredRun> {
    await scaleRun(
      {
        ledger: this.ledger,
        reservations: this.reservations,
        waits: this.waits,
        plan: (runId) => this.plan(runId),
        now: () => this.now(),
      },
      subject,
      this.get(subject, id, 'manage'),
      nodeName,
      multiplicity,
    );
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

  /** See RunPlacement.sweepNetworks (the reconciler asks after each pass over the box). */
  sweepNetworks(now = false): Promise<void> {
    return this.placement.sweepNetworks(now);
  }

  private async abortRun(id: string, reason: AbortReason): Promise<void> {
    await this.ledger.change(id, reason.by, (run) => setAbort(run, reason, this.now()));
    await this.plan(id);
  }

  /** Queues the cloud work the run's state asks for; safe to call any number of times. */
  private plan(id: string): Promise<void> {
    return this.jobs.plan(id);
  }
}

function access(run: StoredRun): Access {
  return { owner: run.owner, acl: run.acl };
}
