import { randomBytes } from 'node:crypto';
import type { Subject } from '../domain/access.ts';
import { describeRefusal, resourceLabels, resources, type Amounts } from '../domain/capacity.ts';
import { askedCounts } from '../domain/deploy-form.ts';
import { footprint, type StoredRun } from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import type { ImageStore } from '../host/images.ts';
import type { DeployPlan } from '../orchestrator/deploy-plan.ts';
import type { Reservations } from '../orchestrator/reservations.ts';
import type { Runs } from '../orchestrator/runs.ts';
import { misfit } from './app-errors.ts';
import { latestOf, type AppListing } from './app-listing.ts';

export interface PreflightCheck {
  check: string;
  ok: boolean;
  message: string;
  details: Record<string, unknown>;
}

/** A node as the deploy would place and size it: what one more instance of it costs. */
export interface PreflightNode {
  name: string;
  cloudId: string;
  multiplicity: number;
  resources: { vcpu: number; memoryMiB: number; diskGiB: number };
  /** Where it may run: only on the box, or on any cloud. */
  cloudChoice: 'box' | 'any';
}

/** What deploying would need, checked before anything starts. */
export interface Preflight {
  ok: boolean;
  checks: PreflightCheck[];
  footprint: Amounts;
  nodes: PreflightNode[];
}

/** Where the deploy places each node, and how many instances of each it asks for. */
export interface DeployPlacement {
  placement: Record<string, string>;
  multiplicity: Record<string, number>;
}

/** A deploy from the store: the form's answers, and an optional title for the run. */
export interface DeployRequest extends DeployPlacement {
  title?: string | undefined;
  parameters: Record<string, string>;
}

/** One-click deploy of an app's latest version, and the pre-flight that checks it first. */
export class AppDeploys {
  constructor(
    private readonly listing: AppListing,
    private readonly images: ImageStore,
    private readonly reservations: Reservations,
    private readonly runs: Runs,
  ) {}

  /**
   * What deploying would need, checked before anything starts: the whole footprint against the
   * box and the user's quota (each resource with what is used and left), the base images on the
   * chosen clouds, and the placement allowed.
   */
  async preflight(subject: Subject, id: string, request: DeployPlacement): Promise<Preflight> {
    return (await this.check(subject, id, request)).preflight;
  }

  /** `screenId`: the box screen (kiosk session) deploying, kept on the run. */
  async deploy(
    subject: Subject,
    id: string,
    request: DeployRequest,
    screenId: string | null = null,
  ): Promise<StoredRun> {
    const version = latestOf(this.listing.get(id));
    const { counts: multiplicity, problems } = askedCounts(
      version.manifest.deploy.form,
      request.parameters,
      request.multiplicity,
    );
    if (problems.length > 0) throw misfit('Instance counts out of bounds', problems);
    const { preflight, plan } = await this.check(subject, id, {
      placement: request.placement,
      multiplicity,
    });
    if (!preflight.ok) {
      const failed = preflight.checks.filter((check) => !check.ok);
      throw new BivouacError(
        'PREFLIGHT_FAILED',
        `Cannot deploy: ${failed.map((check) => check.message).join('; ')}.`,
        { checks: failed },
      );
    }
    const parameters = { ...request.parameters };
    for (const field of version.manifest.deploy.form) {
      // A count field sizes its node (above); it is no input of the run.
      if (field.sets === 'multiplicity') {
        delete parameters[field.key];
        continue;
      }
      if (parameters[field.key] === undefined && field.generate)
        parameters[field.key] = randomBytes(18).toString('base64url');
      if (parameters[field.key] === undefined && field.default !== undefined)
        parameters[field.key] = field.default;
    }
    return this.runs.create(
      subject,
      {
        module: `${version.modules[0]!.path}@${version.modules[0]!.version}`,
        title: request.title ?? version.manifest.app.title,
        parameters,
        placement: request.placement,
        multiplicity,
        tags: [`app:${id}`],
        keepRunning: 'always',
      },
      null,
      version.modules,
      screenId,
      plan,
    );
  }

  /** The pre-flight, and the plan it checked, which a deploy makes its run from. */
  private async check(
    subject: Subject,
    id: string,
    request: DeployPlacement,
  ): Promise<{ preflight: Preflight; plan: DeployPlan }> {
    const version = latestOf(this.listing.get(id));
    const { problems } = askedCounts(version.manifest.deploy.form, {}, request.multiplicity);
    if (problems.length > 0) throw misfit('Instance counts out of bounds', problems);
    const reference = `${version.modules[0]!.path}@${version.modules[0]!.version}`;
    const plan = this.runs.planDeploy(
      subject,
      { module: reference, placement: request.placement, multiplicity: request.multiplicity },
      version.modules,
    );
    const { nodes } = plan;
    const needed = footprint(nodes);
    const checks: PreflightCheck[] = [];
    const refusal = this.reservations.check(subject.userId, needed);
    const usage = this.reservations.report();
    const mine = usage.users.find((user) => user.userId === subject.userId)?.usage;
    for (const resource of resources) {
      const box = usage.box[resource];
      const left = Math.min(
        box.free ?? Number.POSITIVE_INFINITY,
        mine?.[resource].free ?? Number.POSITIVE_INFINITY,
      );
      const failed = refusal?.resource === resource;
      checks.push({
        check: `capacity.${resource}`,
        ok: !failed,
        message: failed
          ? describeRefusal(refusal)
          : `${needed[resource]} ${resourceLabels[resource]} needed; ${Number.isFinite(left) ? left : 'no limit'} left`,
        details: {
          needed: needed[resource],
          used: box.used + box.reserved,
          left: Number.isFinite(left) ? left : null,
        },
      });
    }
    const clouds = version.manifest.deploy.clouds;
    for (const node of nodes) {
      if (clouds[node.name] === 'box' && node.cloudId !== 'box') {
        checks.push({
          check: `placement.${node.name}`,
          ok: false,
          message: `${node.name} may only run on the box.`,
          details: { node: node.name, cloud: node.cloudId },
        });
      }
      const imageName = this.runs.nativeImage(node) ?? undefined;
      const image = imageName ? this.images.find(imageName) : undefined;
      const ok = image?.status === 'ready';
      const hint = version.manifest.deploy.requires.find(
        (required) => required.image === imageName,
      )?.hint;
      const unusable = image?.status === 'unusable';
      checks.push({
        check: `image.${node.name}`,
        ok,
        message: ok
          ? `base image ${image.name} is ready`
          : unusable
            ? `base image ${image.name} cannot be used: ${image.error ?? 'it failed the image check'}`
            : `base image ${imageName ?? '(none)'} is not in the image store${hint ? `: ${hint}` : ''}`,
        details: {
          node: node.name,
          image: imageName ?? null,
          ...(unusable ? { code: 'IMAGE_UNUSABLE', reason: image.error } : {}),
        },
      });
    }
    const placed = nodes.map((node) => ({
      name: node.name,
      cloudId: node.cloudId,
      multiplicity: node.multiplicity,
      resources: node.resources,
      cloudChoice: clouds[node.name] ?? 'any',
    }));
    return {
      preflight: {
        ok: checks.every((check) => check.ok),
        checks,
        footprint: needed,
        nodes: placed,
      },
      plan,
    };
  }
}
