/** One line of the final table. `met` is null for figures without a target. */
export interface Row {
  benchmark: string;
  measure: string;
  result: string;
  target: string;
  met: boolean | null;
}

export function printTable(rows: readonly Row[]): string {
  const header: [string, string, string, string, string] = ['benchmark', 'measure', 'result', 'target', 'met'];
  const cells = rows.map((row): string[] => [
    row.benchmark,
    row.measure,
    row.result,
    row.target,
    row.met === null ? '' : row.met ? 'yes' : 'NO',
  ]);
  const lines = [header, header.map(() => '---'), ...cells].map((cell) => `| ${cell.join(' | ')} |`);
  return lines.join('\n');
}

/** Progress on stderr, so stdout carries only the table. */
export const progress = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};
