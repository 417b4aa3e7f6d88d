import { isFinal } from '../domain/run-states.ts';
import { holdsVm, type StoredRun } from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import { hashSecret } from '../secrets.ts';

/** Who an agent token belongs to. */
export interface AgentIdentity {
  runId: string;
  instance: string;
}

/**
 * The guest agents' tokens, indexed by hash in memory (only hashes are stored, on the instances):
 * kept in step with each run as it changes, plus the tokens of launches under way, whose VMs may
 * call before their launch is recorded.
 */
export class AgentTokens {
  private readonly agents = new Map<string, AgentIdentity>();
  /** The hashes indexed for each run, so a change retires the run's old ones without a scan. */
  private readonly ofRun = new Map<string, Set<string>>();
  /** Launches under way: their VMs may be up before the launch's commit is durable. */
  private readonly starting = new Map<string, AgentIdentity>();

  /** Keeps the index in step with the run: current tokens in, retired ones out. */
  index(run: StoredRun): void {
    const current = new Set(
      run.instances.flatMap((instance) =>
        instance.tokenHash && !isFinal(run.state) ? [instance.tokenHash] : [],
      ),
    );
    for (const hash of this.ofRun.get(run.id) ?? [])
      if (!current.has(hash)) this.agents.delete(hash);
    for (const instance of run.instances)
      if (instance.tokenHash && current.has(instance.tokenHash))
        this.agents.set(instance.tokenHash, { runId: run.id, instance: instance.name });
    if (current.size > 0) this.ofRun.set(run.id, current);
    else this.ofRun.delete(run.id);
  }

  /** Marks a launch's token as on its way until the returned function is called. */
  launching(tokenHash: string, identity: AgentIdentity): () => void {
    this.starting.set(tokenHash, identity);
    return () => this.starting.delete(tokenHash);
  }

  /**
   * The instance a token stands for, while its run is live and the token is the one the
   * instance's current VM was given (a relaunch or removal retires the old one). A token whose
   * launch is not yet recorded throws VM_STARTING (503: the agent asks again).
   */
  authenticate(token: string | undefined, runs: readonly StoredRun[]): AgentIdentity | null {
    if (!token) return null;
    const hash = hashSecret(token);
    const identity = this.agents.get(hash);
    if (!identity && this.starting.has(hash))
      throw new BivouacError(
        'VM_STARTING',
        "This instance's VM is being recorded; ask again in a moment.",
      );
    if (!identity) return null;
    const run = runs.find((candidate) => candidate.id === identity.runId);
    const instance = run?.instances.find((candidate) => candidate.name === identity.instance);
    if (
      !run ||
      isFinal(run.state) ||
      !instance ||
      instance.tokenHash !== hash ||
      !holdsVm(instance) ||
      instance.state === 'removing'
    )
      return null;
    return identity;
  }
}
