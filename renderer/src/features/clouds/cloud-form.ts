import type { RouteInput } from '../../../../appliance/src/api/contract.ts';
import {
  describeLibvirtTarget,
  parseLibvirtUri,
  type LibvirtUriPlace,
} from '../../../../appliance/src/domain/libvirt-uri.ts';
import { detailProblems, type ApiError } from '../../api/client.ts';

/** The add-a-cloud form as it holds its fields (numbers as typed). */
export interface CloudForm {
  name: string;
  uri: string;
  accelerator: 'auto' | 'kvm' | 'tcg';
  callTimeoutSeconds: string;
}

export type CloudField = 'name' | 'uri' | 'accelerator' | 'callTimeoutSeconds';
export type CloudProblems = Partial<Record<CloudField, string>>;

export const emptyCloudForm: CloudForm = {
  name: '',
  uri: '',
  accelerator: 'auto',
  callTimeoutSeconds: '30',
};

/**
 * What is wrong with the form before it is sent: the checks that need nothing but the form and
 * the names taken, the URI by the connector's own rule (domain/libvirt-uri.ts, with the box's
 * keys folder from GET /clouds/rules). The appliance checks everything again and its answer is
 * shown too.
 */
export function cloudFormProblems(
  form: CloudForm,
  takenNames: readonly string[],
  place: LibvirtUriPlace,
): CloudProblems {
  const problems: CloudProblems = {};
  const name = form.name.trim();
  if (name === '') problems.name = 'Give the cloud a name.';
  else if (name.length > 64) problems.name = 'At most 64 characters.';
  else if (takenNames.some((taken) => taken.toLowerCase() === name.toLowerCase()))
    problems.name = 'A cloud of this name exists already.';
  const uri = form.uri.trim();
  if (uri === '') problems.uri = 'Give the libvirt URI of the host.';
  else {
    const verdict = parseLibvirtUri(uri, place);
    if (!verdict.ok) problems.uri = `It ${verdict.refusal.message}.`;
  }
  const timeout = Number(form.callTimeoutSeconds);
  if (
    form.callTimeoutSeconds.trim() === '' ||
    !Number.isFinite(timeout) ||
    timeout < 1 ||
    timeout > 600
  )
    problems.callTimeoutSeconds = 'From 1 to 600 seconds.';
  return problems;
}

/**
 * Who and where the typed URI connects as ("connects over ssh as root to 10.0.0.2, port 22"),
 * or null while it does not pass the rule.
 */
export function cloudTargetOf(form: CloudForm, place: LibvirtUriPlace): string | null {
  const verdict = parseLibvirtUri(form.uri.trim(), place);
  return verdict.ok ? `It ${describeLibvirtTarget(verdict.target)}.` : null;
}

/** The request body for the form. */
export function addCloudBody(form: CloudForm): RouteInput<'addCloud'>['body'] {
  return {
    name: form.name.trim(),
    kind: 'libvirt',
    config: {
      uri: form.uri.trim(),
      accelerator: form.accelerator,
      callTimeoutSeconds: Number(form.callTimeoutSeconds),
    },
  };
}

const fieldOfPath: Record<string, CloudField> = {
  'body.name': 'name',
  'body.config.uri': 'uri',
  'body.config.accelerator': 'accelerator',
  'body.config.callTimeoutSeconds': 'callTimeoutSeconds',
};

/** The appliance's refusal, placed beside the fields it names (`details.fields`, or `details.field`). */
export function serverProblems(error: ApiError): CloudProblems {
  const problems: CloudProblems = {};
  for (const { field, message } of detailProblems(error)) {
    const target = fieldOfPath[field];
    if (target) problems[target] = `It ${message}.`;
  }
  if (error.details.field === 'name') problems.name = error.message;
  if (error.code === 'CLOUD_URI_REFUSED') problems.uri = error.message;
  return problems;
}
