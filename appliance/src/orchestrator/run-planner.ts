import { boxCloudId, type Clouds } from '../connectors/clouds.ts';
import { contentHashOf } from '../store/run-content.ts';
import type { Subject } from '../domain/access.ts';
import { deployedNodes } from '../domain/deploy-form.ts';
import { checkValue } from '../domain/module-validation.ts';
import { isSecret, type ModuleContent } from '../domain/modules.ts';
import { defaultStateTimeouts, type StateTimeouts } from '../domain/run-states.ts';
import { planInstances, type RunNode, type StoredRun } from '../domain/runs.ts';
import { initialParams, secretKeysOf } from '../domain/run-params.ts';
import { BivouacError } from '../errors.ts';
import type { ImageStore } from '../host/images.ts';
import { newId } from '../ids.ts';
import type { ModulePin, Modules, Reach } from '../library/modules.ts';
import type { CreateRun, DeployPlan } from './deploy-plan.ts';
import { invalid, parseOrInvalid } from './run-errors.ts';
import type { RunNetworks } from './run-networks.ts';

/**
 * Plans deploys: the module as the user may reach it, its nodes resolved (images, recipes,
 * resources) and placed and sized as asked, the values given checked against the inputs; and the
 * run a plan makes, before anything is committed.
 */
export class RunPlanner {
  constructor(
    private readonly modules: Modules,
    private readonly clouds: Clouds,
    private readonly images: ImageStore,
    private readonly networks: RunNetworks | null,
    private readonly steps: {
      /** The image a node boots from, as its cloud's kind names it. */
      nativeImage(node: RunNode): string | null;
      now(): Date;
    },
  ) {}

  /**
   * What a deploy of `request.module` would make, placed and sized as asked: the module as
   * `subject` may reach it and its nodes resolved (images, recipes, resources), without making
   * anything. Pre-flight plans; `create` makes the run from that plan.
   */
  planDeploy(
    subject: Subject,
    request: Pick<CreateRun, 'module' | 'placement' | 'multiplicity'>,
    granted: readonly ModulePin[] = [],
  ): DeployPlan {
    parseOrInvalid(request.module);
    const reach: Reach = { subject, action: 'run', granted };
    const module = this.modules.reached(reach, request.module);
    const nodes = this.resolveNodes(module.path, module.version, module.content, request, reach);
    return { subject: subject.userId, asked: request.module, module, nodes };
  }

  /**
   * The run `plan` makes for `subject` (not stored yet): its instances, parameters, secrets,
   * timeouts and network, in Initializing. Images that failed the image check are refused.
   */
  newRun(
    subject: Subject,
    request: CreateRun,
    plan: DeployPlan,
    upgradeOf: string | null,
    screenId: string | null,
  ): StoredRun {
    const { module, nodes } = plan;
    for (const node of nodes) this.images.refuseUnusable(this.steps.nativeImage(node) ?? undefined);
    const instances = planInstances(nodes);
    const given = this.checkParameters(nodes, request.parameters, module.content.kind === 'image');
    const params: Record<string, string> = {};
    for (const instance of instances)
      Object.assign(
        params,
        initialParams(
          nodes.find((node) => node.name === instance.node)!,
          instance.name,
          given,
        ),
      );
    const id = newId();
    const stamp = this.steps.now().toISOString();
    return {
      id,
      owner: subject.userId,
      acl: [],
      title:
        request.title?.trim() ||
        `${module.path.split('/').at(-1)} ${stamp.slice(0, 16).replace('T', ' ')}`,
      module: {
        asked: request.module,
        resolved: `${module.path}@${module.version}`,
        kind: module.content.kind as 'image' | 'deployment',
      },
      nodes,
      instances,
      params: {
        ...params,
        'run:state': 'Initializing',
        ...(upgradeOf ? { 'run:upgrade.from': upgradeOf } : {}),
      },
      secretKeys: secretKeysOf(nodes, instances),
      tags: [...new Set(request.tags)],
      keepRunning: request.keepRunning,
      timeouts: withDefaults(request.timeouts),
      state: 'Initializing',
      stateEnteredAt: stamp,
      abort: null,
      terminating: false,
      reservationId: null,
      given,
      upgrade: null,
      upgradeOf,
      ...(screenId === null ? {} : { screenId }),
      log: [
        {
          time: stamp,
          actor: subject.userId,
          action: 'created',
          detail: `from ${module.path}@${module.version}`,
        },
      ],
      logged: 1,
      network: this.networks
        ? this.networks.choose(
            id,
            nodes.map((node) => node.cloudId),
            boxCloudId,
          )
        : { mode: 'user' },
      createdAt: stamp,
      updatedAt: stamp,
    };
  }

  private resolveNodes(
    path: string,
    version: number,
    content: ModuleContent,
    request: Pick<CreateRun, 'placement' | 'multiplicity'>,
    reach: Reach,
  ): RunNode[] {
    if (content.kind === 'project')
      throw invalid('module', `${path} is a project; deploy an image or a deployment`);
    const declared = deployedNodes(path, version, content).nodes;
    for (const name of [...Object.keys(request.placement), ...Object.keys(request.multiplicity)]) {
      if (!declared.some((node) => node.name === name))
        throw invalid(
          `placement.${name}`,
          `no node ${name}; nodes: ${declared.map((node) => node.name).join(', ')}`,
        );
    }
    return declared.map((node) => {
      const image = this.modules.resolveImage(node.image, reach);
      const cloudId = request.placement[node.name] ?? node.cloud ?? 'box';
      if (this.clouds.isDisabled(cloudId)) this.clouds.checkUsable(cloudId);
      if (!this.clouds.ids().includes(cloudId))
        throw invalid(
          `placement.${node.name}`,
          `no cloud ${cloudId}; clouds: ${this.clouds.ids().join(', ')}`,
        );
      const multiplicity = request.multiplicity[node.name] ?? node.multiplicity;
      if (!Number.isInteger(multiplicity) || multiplicity < 0 || multiplicity > 64)
        throw invalid(`multiplicity.${node.name}`, 'must be a whole number from 0 to 64');
      const { chain, ...content } = image;
      return {
        name: node.name,
        image: chain,
        ...content,
        mappings: node.mappings,
        cloudId,
        multiplicity,
        maxFailures: Math.min(node.maxFailures, Math.max(0, multiplicity - 1)),
        contentHash: contentHashOf(content),
      };
    });
  }

  /** Checks given values against the declared inputs; an image run may name inputs without a node. */
  private checkParameters(
    nodes: RunNode[],
    given: Record<string, string>,
    isImage: boolean,
  ): Record<string, string> {
    const values: Record<string, string> = {};
    const answered = new Set<string>();
    const problems: { field: string; message: string }[] = [];
    for (const [key, value] of Object.entries(given)) {
      const [nodeName, inputName] = key.includes(':')
        ? key.split(':', 2)
        : isImage
          ? [nodes[0]!.name, key]
          : [undefined, key];
      const node = nodes.find((candidate) => candidate.name === nodeName);
      const input = node?.inputs.find((candidate) => candidate.name === inputName);
      if (!node || !input) {
        problems.push({
          field: `parameters.${key}`,
          message: `no such input; inputs: ${nodes.flatMap((n) => n.inputs.map((i) => `${n.name}:${i.name}`)).join(', ') || 'none'}`,
        });
        continue;
      }
      answered.add(`${node.name}:${input.name}`);
      const problem = checkValue(input, value);
      if (problem)
        problems.push({
          field: `parameters.${key}`,
          message: isSecret(input)
            ? problem
            : `${problem} (got ${JSON.stringify(value.slice(0, 64))})`,
        });
      else values[`${node.name}:${input.name}`] = value;
    }
    for (const node of nodes) {
      for (const input of node.inputs) {
        const mapping = node.mappings[input.name];
        if (
          input.default === undefined &&
          !mapping &&
          !answered.has(`${node.name}:${input.name}`)
        ) {
          problems.push({
            field: `parameters.${isImage ? input.name : `${node.name}:${input.name}`}`,
            message: 'required: it has no default and no mapping',
          });
        }
      }
    }
    if (problems.length > 0)
      throw new BivouacError(
        'VALIDATION_FAILED',
        `Parameters: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}.`,
        { fields: problems },
      );
    return values;
  }
}

function withDefaults(given: CreateRun['timeouts']): StateTimeouts {
  const timeouts = { ...defaultStateTimeouts };
  for (const [state, seconds] of Object.entries(given ?? {}))
    if (seconds !== undefined) timeouts[state as keyof StateTimeouts] = seconds;
  return timeouts;
}
