import { maskedValue } from '../domain/modules.ts';
import { isLink, maxValueBytes, parseKey, valueTooLong } from '../domain/params.ts';
import { limits } from '../domain/limits.ts';
import { log } from '../domain/run-machine.ts';
import { isBarrier, isFinal, type AbortReason, type RunState } from '../domain/run-states.ts';
import { type StoredRun } from '../domain/runs.ts';
import {
  agentReadRefusal,
  agentWriteRefusal,
  mappedTargets,
  paramsSize,
  runSecretKeys,
} from '../domain/run-params.ts';
import { BivouacError } from '../errors.ts';
import type { AgentIdentity, AgentTokens } from './agent-tokens.ts';
import type { ParamWaits } from './param-waits.ts';
import { invalid, keyOrInvalid, keyParts, refuse, shuttingDown } from './run-errors.ts';
import type { RunLedger } from './run-ledger.ts';
import { instanceOf } from './run-lookups.ts';

/**
 * What guest agents do, each with its instance's own token: read a runtime parameter of their
 * run (waiting server-side for it), set their instance's outputs, report a barrier completed,
 * abort the run, add recipe output to its log. Every change goes through the ledger.
 */
export class RunAgents {
  constructor(
    private readonly ledger: RunLedger,
    private readonly tokens: AgentTokens,
    private readonly waits: ParamWaits,
    private readonly steps: {
      /** While the appliance stops, waits end with SHUTTING_DOWN (the agent retries). */
      isStopping(): boolean;
      abortRun(id: string, reason: AbortReason): Promise<void>;
      now(): Date;
    },
  ) {}

  /**
   * The instance an agent token stands for, while its run is live and the token is the one the
   * instance's current VM was given (a relaunch or removal retires the old one). A token whose
   * launch is not yet recorded throws VM_STARTING (503: the agent asks again).
   */
  /** The run an authenticated agent belongs to. */
  runFor(agent: AgentIdentity): StoredRun {
    return this.ledger.runOf(agent.runId);
  }

  authenticate(token: string | undefined): AgentIdentity | null {
    return this.tokens.authenticate(token, this.ledger.runs());
  }

  /**
   * How many parameter reads of a run are parked waiting for `key` to change right now, so a
   * measurement of the wake-up can be sure the read it times was waiting (the orchestration bench).
   */
  waitingReads(runId: string, key: string): number {
    return this.waits.count(runId, keyOrInvalid(key));
  }

  /**
   * Reads a parameter of the agent's own run, waiting server-side up to `waitSeconds` for it to
   * be set (or, with `unless`, to hold another value than that). Resolves null when the wait ends
   * without one. A secret is read only by its own instance; while the appliance stops, waits end
   * with SHUTTING_DOWN (the agent retries) instead of "not set". Each time the read is parked,
   * `idle` gets the span in which it waited on a guest: until the change that set the value began,
   * or until the wait ran out.
   */
  async getParam(
    agent: AgentIdentity,
    key: string,
    waitSeconds: number,
    unless?: string,
    idle?: [number, number][],
  ): Promise<string | null> {
    const canonical = keyOrInvalid(key);
    const deadline = Date.now() + Math.min(waitSeconds, limits.agentWaitSeconds) * 1000;
    for (;;) {
      if (this.steps.isStopping()) throw shuttingDown();
      const run = this.ledger.runOf(agent.runId);
      // Checked on every turn: a scale-up or an instance's removal may change the answer.
      refuse(agentReadRefusal(run, agent.instance, parseKey(canonical)), canonical);
      const value = run.params[canonical];
      if (value !== undefined && value !== unless) return value;
      const left = deadline - Date.now();
      if (left <= 0 || isFinal(run.state)) return null;
      const parked = performance.now();
      const setAt = (await this.waits.wait(agent.runId, canonical, left)) ?? performance.now();
      idle?.push([parked, Math.max(parked, setAt)]);
    }
  }

  /**
   * An agent sets a parameter: only its own instance's declared outputs (and `url.<port>` of its
   * declared ports, as a well-formed URL); the inputs mapped to an output follow.
   */
  async agentSetParam(agent: AgentIdentity, key: string, value: string): Promise<void> {
    const canonical = keyOrInvalid(key);
    refuse(
      agentWriteRefusal(this.ledger.runOf(agent.runId), agent.instance, parseKey(canonical)),
      canonical,
    );
    await this.setParam(agent.runId, canonical, value, agent.instance);
  }

  /**
   * Sets a parameter and the inputs mapped to it, within the run's bounds (`limits.paramsPerRun`
   * keys, `limits.paramBytesPerRun` bytes): a change that would pass them is refused whole.
   */
  async setParam(runId: string, key: string, value: string, actor: string): Promise<void> {
    const started = performance.now();
    const canonical = keyOrInvalid(key);
    if (valueTooLong(value)) throw invalid('value', `must be at most ${maxValueBytes} bytes`);
    if (canonical.startsWith('run:') && ['run:state', 'run:abort'].includes(canonical))
      throw invalid('key', `${canonical} is kept by the appliance; use abort to abort`);
    const changed: string[] = [];
    await this.ledger.change(runId, actor, (run) => {
      const targets = [canonical, ...mappedTargets(run, canonical)].filter(
        (target) => run.params[target] !== value,
      );
      const before = paramsSize(run.params);
      const after = paramsSize({
        ...run.params,
        ...Object.fromEntries(targets.map((target) => [target, value])),
      });
      if (
        (after.keys > limits.paramsPerRun && after.keys > before.keys) ||
        (after.bytes > limits.paramBytesPerRun && after.bytes > before.bytes)
      ) {
        throw new BivouacError(
          'PARAMS_FULL',
          `Run ${runId} may hold at most ${limits.paramsPerRun} runtime parameters of ${limits.paramBytesPerRun} bytes in all (keys and values); setting ${canonical} would make ${after.keys} of ${after.bytes} bytes.`,
          {
            key: canonical,
            maxKeys: limits.paramsPerRun,
            maxBytes: limits.paramBytesPerRun,
            keys: before.keys,
            bytes: before.bytes,
          },
        );
      }
      for (const target of targets) {
        run.params[target] = value;
        changed.push(target);
      }
    });
    const run = this.ledger.runOf(runId);
    const secret = runSecretKeys(run);
    for (const target of changed) {
      this.waits.wake(runId, target, started);
      const shown = secret.has(target) ? maskedValue : value;
      this.ledger.announce(run, 'run.param', {
        key: target,
        value: shown,
        link: isLink(keyParts(target)),
      });
    }
  }

  /** An instance reports that it completed a state (a barrier). Repeating it is harmless. */
  async complete(agent: AgentIdentity, state: RunState): Promise<void> {
    if (!isBarrier(state) || state === 'Provisioning')
      throw invalid('state', 'must be Executing, SendingReports or Ready');
    await this.ledger.change(agent.runId, agent.instance, (run) => {
      const instance = instanceOf(run, agent.instance);
      if (instance.completed.includes(state)) return;
      instance.completed.push(state);
      log(run, agent.instance, 'completed', state, this.steps.now());
    });
  }

  async agentAbort(agent: AgentIdentity, reason: string): Promise<void> {
    await this.steps.abortRun(agent.runId, {
      source: 'recipe',
      message: reason,
      by: agent.instance,
      at: this.steps.now().toISOString(),
    });
  }

  /** A line of recipe output for the run's log. */
  async agentLog(agent: AgentIdentity, text: string): Promise<void> {
    await this.ledger.change(agent.runId, agent.instance, (run) =>
      log(run, agent.instance, 'output', text, this.steps.now()),
    );
  }
}
