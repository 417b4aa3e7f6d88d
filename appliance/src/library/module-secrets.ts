import { isSecret, maskedValue, type ImageContent, type ModuleContent } from '../domain/modules.ts';

/** The inputs of the image a reference names, as someone sees it; null when it does not resolve for them. */
export type InputsOf = (reference: string) => ImageContent['inputs'] | null;

/**
 * The content as someone who may not edit it sees it: secret inputs' defaults, and literal values
 * given to secret inputs of a deployment's nodes, replaced by the mask. A node whose image does
 * not resolve for them has every literal value masked.
 */
export function maskSecrets(content: ModuleContent, inputsOf: InputsOf): ModuleContent {
  if (content.kind === 'image') {
    return {
      ...content,
      inputs: content.inputs.map((input) =>
        isSecret(input) && input.default !== undefined ? { ...input, default: maskedValue } : input,
      ),
    };
  }
  if (content.kind === 'deployment') {
    return {
      ...content,
      nodes: content.nodes.map((node) => {
        const inputs = inputsOf(node.image);
        const secret = (name: string) =>
          inputs === null || inputs.some((input) => input.name === name && isSecret(input));
        return {
          ...node,
          mappings: Object.fromEntries(
            Object.entries(node.mappings).map(([name, mapping]) => [
              name,
              'value' in mapping && secret(name) ? { value: maskedValue } : mapping,
            ]),
          ),
        };
      }),
    };
  }
  return content;
}

/**
 * The content with every masked secret (a secret input's default, a literal value given to a
 * secret input) replaced by the value `previous` (the live module's latest) has for it: an editor
 * who saves what a masked view showed keeps the secret instead of storing the mask.
 */
export function unmaskSecrets(
  content: ModuleContent,
  previous: ModuleContent | undefined,
  inputsOf: InputsOf,
): ModuleContent {
  if (!previous || previous.kind !== content.kind) return content;
  if (content.kind === 'image' && previous.kind === 'image') {
    const before = new Map(previous.inputs.map((input) => [input.name, input]));
    return {
      ...content,
      inputs: content.inputs.map((input) => {
        const old = before.get(input.name);
        return input.default === maskedValue && isSecret(input) && old?.default !== undefined
          ? { ...input, default: old.default }
          : input;
      }),
    };
  }
  if (content.kind === 'deployment' && previous.kind === 'deployment') {
    return {
      ...content,
      nodes: content.nodes.map((node) => {
        const old = previous.nodes.find((candidate) => candidate.name === node.name);
        const masked = Object.entries(node.mappings).filter(
          ([, mapping]) => 'value' in mapping && mapping.value === maskedValue,
        );
        if (!old || masked.length === 0) return node;
        const inputs = inputsOf(node.image);
        const mappings = { ...node.mappings };
        for (const [name] of masked) {
          const kept = old.mappings[name];
          const input = inputs?.find((candidate) => candidate.name === name);
          if (kept && 'value' in kept && input && isSecret(input)) mappings[name] = kept;
        }
        return { ...node, mappings };
      }),
    };
  }
  return content;
}
