import { z } from 'zod';
import { BivouacError, validationError } from '../errors.ts';
import {
  capabilities,
  requiredCapabilities,
  type ConnectionTarget,
  type Connector,
  type ConnectorKind,
  type ConnectorManifest,
} from './contract.ts';

/** A manifest that breaks the contract: a bug in the connector, refused at registration. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

const manifestShape = z.strictObject({
  kind: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'must be lowercase letters, digits or "-"'),
  version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'must be a semantic version'),
  capabilities: z.array(z.enum(capabilities)).min(1),
  configSchema: z.custom<z.ZodType>((value) => value instanceof z.ZodType, 'must be a zod schema'),
  description: z.string().min(1),
});

/** Connector kinds by name. */
export class ConnectorRegistry {
  private readonly kinds = new Map<string, ConnectorKind>();

  /** Checks the manifest against the contract; a second kind of the same name is refused. */
  register<Config>(kind: ConnectorKind<Config>): void {
    const parsed = manifestShape.safeParse(kind.manifest);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
        .join('; ');
      throw new ManifestError(
        `Connector manifest ${String(kind.manifest?.kind)} is invalid: ${problems}`,
      );
    }
    const missing = requiredCapabilities.filter(
      (capability) => !kind.manifest.capabilities.includes(capability),
    );
    if (missing.length > 0)
      throw new ManifestError(
        `Connector ${kind.manifest.kind} lacks required capabilities: ${missing.join(', ')}`,
      );
    if (this.kinds.has(kind.manifest.kind))
      throw new ManifestError(`Connector kind ${kind.manifest.kind} is registered twice`);
    this.kinds.set(kind.manifest.kind, kind as ConnectorKind);
  }

  manifests(): ConnectorManifest[] {
    return [...this.kinds.values()].map((kind) => kind.manifest);
  }

  /** Validates `config` with the kind's schema (a clear 400 naming the field) and creates an instance. */
  create(kindName: string, config: unknown): Connector {
    return this.kindOf(kindName).create(this.validateConfig(kindName, config));
  }

  /** Where a config connects, when its kind can say; the config is validated first. */
  target(kindName: string, config: unknown): ConnectionTarget | null {
    const valid = this.validateConfig(kindName, config);
    return this.kindOf(kindName).target?.(valid) ?? null;
  }

  validateConfig(kindName: string, config: unknown): unknown {
    const result = this.kindOf(kindName).manifest.configSchema.safeParse(config);
    if (!result.success) {
      const error = validationError('body', result.error);
      const fields = (error.details.fields as { field: string; message: string }[]).map(
        (problem) => ({
          ...problem,
          field: problem.field.replace(/^body/, 'body.config'),
        }),
      );
      throw new BivouacError(
        'VALIDATION_FAILED',
        `Invalid config for a ${kindName} cloud: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}.`,
        { fields },
      );
    }
    return result.data;
  }

  private kindOf(kindName: string): ConnectorKind {
    const kind = this.kinds.get(kindName);
    if (!kind) {
      throw new BivouacError(
        'UNKNOWN_CONNECTOR_KIND',
        `No connector of kind "${kindName}"; known kinds: ${[...this.kinds.keys()].join(', ')}.`,
        {
          kind: kindName,
          known: [...this.kinds.keys()],
        },
      );
    }
    return kind;
  }
}
