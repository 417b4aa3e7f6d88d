import type { Subject } from '../domain/access.ts';
import { isSecret } from '../domain/modules.ts';
import { log } from '../domain/run-machine.ts';
import { isFinal } from '../domain/run-states.ts';
import { liveInstances, type StoredRun } from '../domain/runs.ts';
import { runSecretKeys } from '../domain/run-params.ts';
import { BivouacError } from '../errors.ts';
import type { ModulePin } from '../library/modules.ts';
import type { CreateRun, DeployPlan } from './deploy-plan.ts';
import type { RunLedger } from './run-ledger.ts';
import type { RunQueries } from './run-queries.ts';

/** What an upgrade needs of the orchestrator around it. */
export interface UpgradeSteps {
  create(
    subject: Subject,
    request: CreateRun,
    upgradeOf: string | null,
    granted: readonly ModulePin[],
    screenId: string | null,
  ): Promise<StoredRun>;
  planDeploy(
    subject: Subject,
    request: Pick<CreateRun, 'module' | 'placement' | 'multiplicity'>,
  ): DeployPlan;
  /** Queues the cloud work a run's state asks for. */
  plan(id: string): Promise<void>;
  now(): Date;
}

/**
 * Upgrades the immutable way: the newer version deployed beside the run, followed (a ledger
 * listener) until it is Ready, when the old run is terminated, or fails, when it is.
 */
export class RunUpgrades {
  constructor(
    private readonly ledger: RunLedger,
    private readonly queries: RunQueries,
    private readonly steps: UpgradeSteps,
  ) {
    ledger.onChange(({ run }) => (run.upgradeOf ? this.follow(run) : undefined));
  }

  /**
   * The immutable upgrade, as one action: the newer version is deployed beside the run with the
   * same parameters, placement and sizes (its guests see `run:upgrade.from` and migrate); once it
   * is Ready the old run is terminated; if it fails, it is terminated and the old run stays.
   */
  async upgrade(subject: Subject, id: string, module: string): Promise<StoredRun> {
    const run = this.queries.get(subject, id, 'manage');
    if (run.state !== 'Ready' || run.terminating || run.abort) {
      throw new BivouacError(
        'WRONG_STATE',
        `Run ${id} is ${run.terminating ? 'terminating' : run.state}; only a Ready run can be upgraded.`,
        { state: run.state },
      );
    }
    if (run.upgrade?.state === 'deploying')
      throw new BivouacError(
        'WRONG_STATE',
        `Run ${id} is already being upgraded to ${run.upgrade.to}.`,
        { state: run.state, upgrade: run.upgrade.to },
      );
    if (subject.userId !== run.owner) this.checkSecretsStaySecret(subject, run, module);
    const parameters =
      run.module.kind === 'image'
        ? Object.fromEntries(
            Object.entries(run.given).map(([key, value]) => [
              key.slice(key.indexOf(':') + 1),
              value,
            ]),
          )
        : run.given;
    const newer = await this.steps.create(
      subject,
      {
        module,
        title: run.title,
        parameters,
        placement: Object.fromEntries(run.nodes.map((node) => [node.name, node.cloudId])),
        multiplicity: Object.fromEntries(
          run.nodes.map((node) => [
            node.name,
            liveInstances(run).filter((instance) => instance.node === node.name).length,
          ]),
        ),
        tags: run.tags,
        keepRunning: run.keepRunning,
        timeouts: run.timeouts,
      },
      id,
      [],
      // The newer run belongs to the same screen, so a kiosk that started it keeps following it.
      run.screenId ?? null,
    );
    await this.ledger.change(id, subject.userId, (stored) => {
      stored.upgrade = { to: newer.id, state: 'deploying', reason: null };
      log(
        stored,
        subject.userId,
        'upgrade',
        `to ${newer.module.resolved} as run ${newer.id}`,
        this.steps.now(),
      );
    });
    return this.queries.get(subject, id);
  }

  /**
   * An upgrade feeds the values the owner gave into a module chosen by whoever upgrades. Someone
   * other than the owner may do that only to a module that declares secret every input whose
   * value was secret; otherwise the new run (theirs) would show the owner's secrets.
   */
  private checkSecretsStaySecret(subject: Subject, run: StoredRun, module: string): void {
    const secret = runSecretKeys(run);
    const wereSecret = Object.keys(run.given).filter((given) => {
      const [node, input] = given.split(':') as [string, string];
      return (
        run.instances.some(
          (instance) => instance.node === node && secret.has(`${instance.name}:${input}`),
        ) ||
        run.nodes.some(
          (candidate) =>
            candidate.name === node &&
            candidate.inputs.some((declared) => declared.name === input && isSecret(declared)),
        )
      );
    });
    if (wereSecret.length === 0) return;
    const { nodes } = this.steps.planDeploy(subject, { module, placement: {}, multiplicity: {} });
    const exposed = wereSecret.filter((given) => {
      const [node, input] = given.split(':') as [string, string];
      // An image run's values go to the new image's one node, whatever its name.
      const target =
        run.module.kind === 'image' ? nodes[0] : nodes.find((candidate) => candidate.name === node);
      const declared = target?.inputs.find((candidate) => candidate.name === input);
      return declared !== undefined && !isSecret(declared);
    });
    if (exposed.length > 0) {
      throw new BivouacError(
        'FORBIDDEN',
        `${module} declares ${exposed.join(', ')} as plain input${exposed.length === 1 ? '' : 's'}, but the owner gave ${exposed.length === 1 ? 'it' : 'them'} as secret; only the run's owner may upgrade to it (or declare them secret).`,
        { inputs: exposed, requiredUser: run.owner },
      );
    }
  }

  /** Follows an upgrade's new run: switch over when it is Ready, roll back when it fails. */
  private async follow(newer: StoredRun): Promise<void> {
    const old = newer.upgradeOf
      ? this.ledger.runs().find((candidate) => candidate.id === newer.upgradeOf)
      : undefined;
    if (!old || old.upgrade?.to !== newer.id || old.upgrade.state !== 'deploying') return;
    if (newer.state === 'Ready') {
      await this.ledger.change(old.id, 'appliance', (stored) => {
        stored.upgrade = { to: newer.id, state: 'switched', reason: null };
        stored.params['run:upgrade.to'] = newer.id;
        stored.terminating = true;
        log(
          stored,
          'appliance',
          'upgrade',
          `switched to run ${newer.id}; terminating this one`,
          this.steps.now(),
        );
      });
      await this.steps.plan(old.id);
    } else if (isFinal(newer.state) || newer.abort || newer.terminating) {
      const reason = newer.abort?.message ?? `the new run ended ${newer.state}`;
      await this.ledger.change(old.id, 'appliance', (stored) => {
        stored.upgrade = { to: newer.id, state: 'rolled-back', reason };
        log(stored, 'appliance', 'upgrade', `rolled back: ${reason}`, this.steps.now());
      });
      if (!newer.terminating) {
        await this.ledger.change(newer.id, 'appliance', (stored) => {
          stored.terminating = true;
        });
        await this.steps.plan(newer.id);
      }
    }
  }
}
