/**
 * The rules a module's content must pass: a deployment's nodes and their wiring, an image's own
 * parameters, and a value given for an input.
 */
import { ModuleError, type ModuleLookup } from './module-references.ts';
import { resolveImage } from './module-resolution.ts';
import type { DeploymentContent, ImageContent, InputParameter, ResolvedImage } from './modules.ts';
import { isValidName, maxValueBytes, valueTooLong } from './params.ts';

const nodeNamePattern = /^[a-z][a-z0-9-]{0,31}$/;

/** A problem found while validating a module: where (`nodes.1.mappings.port`) and what. */
export interface Problem {
  field: string;
  message: string;
}

/**
 * A deployment is saved only when its nodes are well named, multiplicities and failure
 * tolerances make sense, every image resolves, every input without a default is mapped, and
 * every mapping names an output that exists on a node of this deployment.
 */
export function validateDeployment(content: DeploymentContent, lookup: ModuleLookup): Problem[] {
  const problems: Problem[] = [];
  const images = new Map<number, ResolvedImage>();
  const byName = new Map<string, number>();
  if (content.nodes.length === 0)
    problems.push({ field: 'nodes', message: 'a deployment needs at least one node' });
  content.nodes.forEach((node, index) => {
    const at = `nodes.${index}`;
    if (!nodeNamePattern.test(node.name))
      problems.push({
        field: `${at}.name`,
        message:
          'must start with a lowercase letter; lowercase letters, digits and "-", at most 32',
      });
    if (byName.has(node.name))
      problems.push({ field: `${at}.name`, message: `another node is already named ${node.name}` });
    else byName.set(node.name, index);
    if (!Number.isInteger(node.multiplicity) || node.multiplicity < 0 || node.multiplicity > 64) {
      problems.push({
        field: `${at}.multiplicity`,
        message: 'must be a whole number from 0 to 64',
      });
    }
    if (
      !Number.isInteger(node.maxFailures) ||
      node.maxFailures < 0 ||
      node.maxFailures > Math.max(0, node.multiplicity - 1)
    ) {
      problems.push({
        field: `${at}.maxFailures`,
        message: `must be a whole number from 0 to ${Math.max(0, node.multiplicity - 1)} (fewer than the node's instances)`,
      });
    }
    try {
      images.set(index, resolveImage(node.image, lookup, `${at}.image`));
    } catch (error) {
      if (!(error instanceof ModuleError)) throw error;
      problems.push({ field: error.field, message: error.message });
    }
  });
  content.nodes.forEach((node, index) => {
    const image = images.get(index);
    if (!image) return;
    const at = `nodes.${index}.mappings`;
    const inputs = new Map(image.inputs.map((input) => [input.name, input]));
    for (const [input, mapping] of Object.entries(node.mappings)) {
      if (!inputs.has(input)) {
        problems.push({
          field: `${at}.${input}`,
          message: `${node.name}'s image has no input ${input}; it has: ${[...inputs.keys()].join(', ') || 'none'}`,
        });
        continue;
      }
      if ('output' in mapping) {
        const [source, output] = mapping.output.split(':');
        const sourceIndex = source ? byName.get(source) : undefined;
        const sourceImage = sourceIndex === undefined ? undefined : images.get(sourceIndex);
        if (!source || !output || sourceIndex === undefined) {
          problems.push({
            field: `${at}.${input}`,
            message: `"${mapping.output}" must name a node of this deployment and one of its outputs, like db:port`,
          });
        } else if (
          sourceImage &&
          !sourceImage.outputs.some((candidate) => candidate.name === output)
        ) {
          problems.push({
            field: `${at}.${input}`,
            message: `node ${source} has no output ${output}; it has: ${sourceImage.outputs.map((o) => o.name).join(', ') || 'none'}`,
          });
        }
      }
    }
    for (const input of image.inputs) {
      if (input.default === undefined && !(input.name in node.mappings)) {
        problems.push({
          field: `${at}.${input.name}`,
          message: `input ${input.name} of ${node.name} has no default and must be mapped to an output or a value`,
        });
      }
    }
  });
  return problems;
}

/**
 * An image's own parameters, checked as they are typed and on save: every input, output and
 * port well named and named once in its list, every default valid for its input's type, an enum
 * with options, every port a whole number from 1 to 65535. Fields are `inputs.0.default` etc.
 */
export function validateImage(
  content: Pick<ImageContent, 'inputs' | 'outputs' | 'ports'>,
): Problem[] {
  const problems: Problem[] = [];
  const names = (list: 'inputs' | 'outputs' | 'ports', items: readonly { name: string }[]) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const field = `${list}.${index}.name`;
      if (!isValidName(item.name))
        problems.push({
          field,
          message: 'must start with a letter; letters, digits, "_", "." or "-", at most 64',
        });
      else if (seen.has(item.name))
        problems.push({
          field,
          message: `another ${list.slice(0, -1)} is already named ${item.name}`,
        });
      seen.add(item.name);
    });
  };
  names('inputs', content.inputs);
  names('outputs', content.outputs);
  names('ports', content.ports);
  content.inputs.forEach((input, index) => {
    const hasOptions = input.type !== 'enum' || (input.options?.length ?? 0) > 0;
    if (!hasOptions)
      problems.push({
        field: `inputs.${index}.options`,
        message: 'an enum needs at least one option',
      });
    const problem =
      input.default === undefined || !hasOptions ? null : checkValue(input, input.default);
    if (problem)
      problems.push({ field: `inputs.${index}.default`, message: `the default ${problem}` });
  });
  content.ports.forEach((port, index) => {
    if (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535)
      problems.push({
        field: `ports.${index}.port`,
        message: 'must be a whole number from 1 to 65535',
      });
  });
  return problems;
}

/** Checks a value given for an input; returns the problem, or null when it is fine. */
export function checkValue(input: InputParameter, value: string): string | null {
  if (valueTooLong(value)) return `must be at most ${maxValueBytes} bytes`;
  switch (input.type) {
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? null : 'must be a number';
    case 'boolean':
      return value === 'true' || value === 'false' ? null : 'must be true or false';
    case 'enum':
      return input.options?.includes(value)
        ? null
        : `must be one of: ${(input.options ?? []).join(', ')}`;
    case 'hostname':
      return /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        value,
      )
        ? null
        : 'must be a host name';
    default:
      return null;
  }
}
