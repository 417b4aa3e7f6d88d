/**
 * Runs' runtime parameters: what an instance starts with, which keys are secret and how they are
 * masked, which inputs an output feeds, and what a guest agent may read and write.
 */
import { isSecret, maskedValue } from './modules.ts';
import { formatKey, isLink, parseKey, type ParameterKey } from './params.ts';
import type { RunInstance, RunNode, StoredRun } from './runs.ts';

/**
 * The values an instance starts with: a value the user gave (`node:input`), else a literal
 * mapping, else the input's default. Inputs mapped to an output stay unset until it is set.
 */
export function initialParams(
  node: RunNode,
  instance: string,
  given: Record<string, string>,
): Record<string, string> {
  const params: Record<string, string> = {};
  for (const input of node.inputs) {
    const mapping = node.mappings[input.name];
    const value =
      given[`${node.name}:${input.name}`] ??
      (mapping && 'value' in mapping ? mapping.value : undefined) ??
      input.default;
    if (value !== undefined) params[`${instance}:${input.name}`] = value;
  }
  return params;
}

/**
 * Canonical keys whose values are never shown by the API nor logged: inputs and outputs declared
 * secret, and inputs mapped from a secret output (secrecy follows the value, so `web.1:dbpw`
 * mapped from `db:pw` is as secret as `db.1:pw`, however `dbpw` itself is declared).
 */
export function secretKeysOf(
  nodes: readonly RunNode[],
  instances: readonly RunInstance[],
): string[] {
  return instances.flatMap((instance) => {
    const node = nodes.find((candidate) => candidate.name === instance.node);
    return node ? secretNamesOf(nodes, node).map((name) => `${instance.name}:${name}`) : [];
  });
}

/** The secret parameter names of one node (of every instance it has or will have). */
function secretNamesOf(nodes: readonly RunNode[], node: RunNode): string[] {
  const secretOutputs = new Set(
    nodes.flatMap((source) =>
      source.outputs
        .filter((output) => output.secret === true)
        .map((output) => `${source.name}:${output.name}`),
    ),
  );
  const secretInputs = node.inputs.filter(isSecret).map((input) => input.name);
  const fedBySecrets = Object.entries(node.mappings)
    .filter(([, mapping]) => 'output' in mapping && secretOutputs.has(mapping.output))
    .map(([input]) => input);
  const outputs = node.outputs
    .filter((output) => output.secret === true)
    .map((output) => output.name);
  return [...new Set([...secretInputs, ...fedBySecrets, ...outputs])];
}

/**
 * The secret keys of a run: those recorded when it was made and those its nodes call for now
 * (runs made before secrecy followed mappings recorded fewer).
 */
export function runSecretKeys(
  run: Pick<StoredRun, 'nodes' | 'instances' | 'secretKeys'>,
): Set<string> {
  return new Set([...run.secretKeys, ...secretKeysOf(run.nodes, run.instances)]);
}

/**
 * The inputs an output feeds: setting `db.1:port` (or `db:port`) sets every instance's input
 * mapped to `db:port`. Only the first instance's output is the node's output.
 */
export function mappedTargets(run: StoredRun, key: string): string[] {
  const parsed = parseKey(key);
  if (parsed.scope !== 'instance' || parsed.index !== 1) return [];
  const source = `${parsed.node}:${parsed.name}`;
  const targets: string[] = [];
  for (const node of run.nodes) {
    for (const [input, mapping] of Object.entries(node.mappings)) {
      if (!('output' in mapping) || mapping.output !== source) continue;
      for (const instance of run.instances.filter(
        (candidate) => candidate.node === node.name && candidate.state !== 'removed',
      )) {
        targets.push(`${instance.name}:${input}`);
      }
    }
  }
  return targets;
}

/** Parameters as the API shows them: secrets masked. */
export function visibleParams(
  run: Pick<StoredRun, 'nodes' | 'instances' | 'secretKeys' | 'params'>,
): Record<string, string> {
  const secret = runSecretKeys(run);
  return Object.fromEntries(
    Object.entries(run.params).map(([key, value]) => [key, secret.has(key) ? maskedValue : value]),
  );
}

/**
 * Secret values shorter than this are not searched for in text: they would blank ordinary words
 * (`true`, `80`) all over a log, and protect nothing anyway.
 */
const shortestRedacted = 4;

/**
 * `text` with every current secret value of the run (and every value the user gave a secret
 * input) replaced by the mask: what recipe output, abort reasons and console reads go through
 * before anyone sees them.
 */
export function redactSecrets(
  run: Pick<StoredRun, 'nodes' | 'instances' | 'secretKeys' | 'params'>,
  text: string,
): string {
  const secret = runSecretKeys(run);
  const values = [
    ...new Set(
      Object.entries(run.params)
        .filter(([key]) => secret.has(key))
        .map(([, value]) => value),
    ),
  ]
    .filter((value) => value.length >= shortestRedacted)
    .sort((a, b) => b.length - a.length);
  let shown = text;
  for (const value of values) shown = shown.split(value).join(maskedValue);
  return shown;
}

export function canonicalKey(key: string): string {
  return formatKey(parseKey(key));
}

/** Why an agent may not read or write a key: the error code to answer with and what to say. */
export interface ParamRefusal {
  code: 'PARAM_FORBIDDEN' | 'PARAM_UNKNOWN';
  message: string;
  /** The keys the instance may set, when that helps. */
  allowed?: string[];
}

/** The names an instance of `node` may set: its declared outputs and `url.<port>` of its declared ports. */
export function writableNames(node: RunNode): string[] {
  return [
    ...new Set(
      node.outputs.map((output) => output.name).filter((name) => !name.startsWith('url.')),
    ),
  ];
}

/**
 * May the agent of `instanceName` set `key`? An instance writes only its own declared outputs
 * (which also set the inputs mapped to them). The `run:` namespace and every link (`url.*`) are the
 * appliance's: links are made from the ports it publishes, so a screen's "Open" link never leads
 * anywhere a guest chose (the UI's own host, which would receive a session cookie, or a phishing
 * page). Null when it may.
 */
export function agentWriteRefusal(
  run: StoredRun,
  instanceName: string,
  key: ParameterKey,
): ParamRefusal | null {
  const own = run.instances.find((candidate) => candidate.name === instanceName);
  const node = own && run.nodes.find((candidate) => candidate.name === own.node);
  if (!own || !node)
    return {
      code: 'PARAM_FORBIDDEN',
      message: `${instanceName} is no longer an instance of this run`,
    };
  const allowed = writableNames(node).map((name) => `${instanceName}:${name}`);
  const text = formatKey(key);
  if (key.scope === 'run')
    return {
      code: 'PARAM_FORBIDDEN',
      message: `${text} is kept by the appliance; an instance sets only its own outputs (${allowed.join(', ') || 'none declared'})`,
      allowed,
    };
  const target = run.instances.find(
    (candidate) => candidate.node === key.node && candidate.index === key.index,
  );
  if (!target)
    return {
      code: 'PARAM_UNKNOWN',
      message: `${text} names no instance of this run; ${instanceName} may set ${allowed.join(', ') || 'nothing (its image declares no output)'}`,
      allowed,
    };
  if (isLink(key))
    return {
      code: 'PARAM_FORBIDDEN',
      message: `${text} is a link, which the appliance sets from the ports it publishes; ${instanceName} may set ${allowed.join(', ') || 'nothing (its image declares no output)'}`,
      allowed,
    };
  if (target.name !== instanceName)
    return {
      code: 'PARAM_FORBIDDEN',
      message: `${text} belongs to ${target.name}; ${instanceName} sets only its own outputs (${allowed.join(', ') || 'none declared'})`,
      allowed,
    };
  if (!writableNames(node).includes(key.name)) {
    return {
      code: 'PARAM_UNKNOWN',
      message: `${node.name} declares no output ${key.name}; ${instanceName} may set ${allowed.join(', ') || 'nothing (its image declares no output)'}`,
      allowed,
    };
  }
  return null;
}

/**
 * May the agent of `instanceName` read `key`? Any key of its run that is not secret; a secret only
 * of its own instance (its secret inputs, those mapped from secret outputs, its own secret
 * outputs). Null when it may.
 */
export function agentReadRefusal(
  run: StoredRun,
  instanceName: string,
  key: ParameterKey,
): ParamRefusal | null {
  if (key.scope === 'run') return null;
  const text = formatKey(key);
  const node = run.nodes.find((candidate) => candidate.name === key.node);
  const secret =
    run.secretKeys.includes(text) ||
    (node !== undefined && secretNamesOf(run.nodes, node).includes(key.name));
  if (!secret || `${key.node}.${key.index}` === instanceName) return null;
  return {
    code: 'PARAM_FORBIDDEN',
    message: `${text} is secret; an instance reads only its own secrets (its secret inputs, and inputs mapped from a secret output)`,
  };
}

/** How many runtime parameters a run holds, and their keys' and values' bytes. */
export function paramsSize(params: Record<string, string>): { keys: number; bytes: number } {
  const encoder = new TextEncoder();
  let bytes = 0;
  for (const [key, value] of Object.entries(params))
    bytes += encoder.encode(key).length + encoder.encode(value).length;
  return { keys: Object.keys(params).length, bytes };
}
