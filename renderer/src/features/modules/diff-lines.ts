/** One line of a unified diff, by what it says. */
export interface DiffLine {
  kind: 'added' | 'removed' | 'context' | 'hunk' | 'file';
  text: string;
}

/**
 * Splits a unified diff (as GET /modules/diff answers) into lines the page can mark: added and
 * removed lines lose their +/- (the page shows its own marker and label), file headers and hunk
 * headers are kept as they are, the separator line and "\ No newline" notes are dropped.
 */
export function diffLines(diff: string): DiffLine[] {
  const lines: DiffLine[] = [];
  let inHunk = false;
  for (const line of diff.split('\n')) {
    if (line === '' || line.startsWith('\\')) continue;
    if (!inHunk && (/^=+$/.test(line) || line.startsWith('Index: '))) continue;
    // File headers come before the first hunk; later, "--- x" is a removed line "-- x".
    if (!inHunk && (line.startsWith('--- ') || line.startsWith('+++ ')))
      lines.push({ kind: 'file', text: line.slice(4).split('\t')[0]! });
    else if (line.startsWith('@@')) {
      inHunk = true;
      lines.push({ kind: 'hunk', text: line });
    } else if (line.startsWith('+')) lines.push({ kind: 'added', text: line.slice(1) });
    else if (line.startsWith('-')) lines.push({ kind: 'removed', text: line.slice(1) });
    else lines.push({ kind: 'context', text: line.startsWith(' ') ? line.slice(1) : line });
  }
  return lines;
}

/** How many lines were added and removed. */
export function diffCounts(lines: readonly DiffLine[]): { added: number; removed: number } {
  return {
    added: lines.filter((line) => line.kind === 'added').length,
    removed: lines.filter((line) => line.kind === 'removed').length,
  };
}
