import type { KeepRunning, StateTimeouts } from '../domain/run-states.ts';
import type { RunNode } from '../domain/runs.ts';
import type { ReachedModule } from '../library/modules.ts';

/** What a deploy asks for (POST /runs, the app store, an upgrade). */
export interface CreateRun {
  module: string;
  title?: string | undefined;
  /** `node:input` (or `input` for an image) → value. */
  parameters: Record<string, string>;
  /** Node → cloud id. */
  placement: Record<string, string>;
  /** Node → instance count, overriding the deployment's. */
  multiplicity: Record<string, number>;
  tags: string[];
  keepRunning: KeepRunning;
  timeouts?: Partial<Record<keyof StateTimeouts, number | undefined>> | undefined;
}

/** A deploy planned for one user: the module as they reach it and its nodes, placed and sized. */
export interface DeployPlan {
  subject: string;
  asked: string;
  module: ReachedModule;
  nodes: RunNode[];
}
