import type { RouteOutput } from '../api/contract.ts';
import { isFinal } from '../domain/run-states.ts';

export type Run = RouteOutput<'getRun'>;

/** Rows as aligned columns, the header first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A run in words: its state, module, abort reason, service URL and instances. */
export function describeRun(run: Run): string {
  const lines = [
    `${run.id}  ${run.title}`,
    `state    ${run.terminating && !isFinal(run.state) ? `${run.state} (terminating)` : run.state}`,
    `module   ${run.module.resolved}`,
  ];
  if (run.abort) lines.push(`aborted  ${run.abort.message} (${run.abort.source})`);
  const service = run.params['run:url.service'];
  if (service) lines.push(`service  ${service}`);
  if (run.instances.length > 0)
    lines.push(
      '',
      table(
        ['INSTANCE', 'STATE', 'COMPLETED'],
        run.instances.map((instance) => [
          instance.name,
          instance.error ? `${instance.state}: ${instance.error}` : instance.state,
          instance.completed.join(', ') || '—',
        ]),
      ),
    );
  return lines.join('\n');
}
