import type { CloudStatus } from '../domain/events.ts';
import { BivouacError } from '../errors.ts';
import type { StoredCloud } from '../store/document.ts';
import type { ConnectionTarget } from './contract.ts';

/** A cloud as the Clouds page shows it to administrators (api/ trims it for everyone else). */
export interface CloudView {
  id: string;
  name: string;
  kind: string;
  config: unknown;
  /** Who and where it connects as (administrators only); null when disabled or its kind cannot say. */
  target: ConnectionTarget | null;
  builtIn: boolean;
  /** Set when its config no longer passes the rules: the box never contacts it. */
  disabled: { reason: string } | null;
  status: CloudStatus;
}

/** A cloud the box will not contact, and why. */
export interface DisabledCloud {
  id: string;
  name: string;
  reason: string;
}

/** What a cloud's view adds to the stored cloud. */
export interface ViewParts {
  isBuiltIn: boolean;
  /** Why its config is refused; a refused cloud is shown disabled, its status saying so. */
  refusal: string | undefined;
  /** Its last answer, if it was ever asked. */
  status: CloudStatus | undefined;
  /** Who and where it connects as; asked only of a cloud that is not refused. */
  target: () => ConnectionTarget | null;
}

export function cloudView(cloud: StoredCloud, parts: ViewParts): CloudView {
  const reason = parts.refusal;
  if (reason !== undefined) {
    const status = {
      reachable: false,
      latencyMs: null,
      lastError: `Disabled, never contacted: ${reason}`,
      checkedAt: null,
    };
    return {
      id: cloud.id,
      name: cloud.name,
      kind: cloud.kind,
      config: cloud.config,
      target: null,
      builtIn: parts.isBuiltIn,
      disabled: { reason },
      status,
    };
  }
  const status = parts.status ?? {
    reachable: false,
    latencyMs: null,
    lastError: null,
    checkedAt: null,
  };
  const target = parts.target();
  return {
    id: cloud.id,
    name: cloud.name,
    kind: cloud.kind,
    config: cloud.config,
    target,
    builtIn: parts.isBuiltIn,
    disabled: null,
    status,
  };
}

/**
 * A cloud's status as anyone may see it: the hypervisor's own error names hosts and users, so
 * only that there is one is said, and where an administrator finds it.
 */
export function publicStatus(view: CloudView): CloudStatus {
  const { status } = view;
  return status.lastError === null
    ? status
    : {
        ...status,
        lastError: `${view.name} does not answer; an administrator sees why on the Clouds page.`,
      };
}

/** `text` with the cloud's URI, host and `user@host` replaced by the cloud's name. */
export function nameInsteadOfAddress(cloud: StoredCloud, text: string): string {
  const uri = (cloud.config as { uri?: unknown } | undefined)?.uri;
  if (typeof uri !== 'string' || uri === '') return text;
  const parsed = URL.canParse(uri) ? new URL(uri) : null;
  const host = parsed ? parsed.hostname.replace(/^\[(.*)\]$/, '$1') : '';
  const user = parsed ? decodeURIComponent(parsed.username) : '';
  let named = text.replaceAll(uri, cloud.name);
  // `user@host` first, so the user does not stay beside the name.
  if (host && user)
    named = named
      .replaceAll(`${user}@${host}`, cloud.name)
      .replaceAll(`${user}@${parsed!.hostname}`, cloud.name);
  return host ? named.replaceAll(host, cloud.name) : named;
}

/** Why a config was refused, in words for the Clouds page (fields named without the request's `body.`). */
export function refusalReason(error: unknown): string {
  if (!(error instanceof BivouacError)) return (error as Error).message;
  const fields = error.details.fields;
  if (Array.isArray(fields) && fields.length > 0) {
    return (fields as { field: string; message: string }[])
      .map((problem) => `${problem.field.replace(/^body\./, '')} ${problem.message}`)
      .join('; ');
  }
  return error.message;
}
