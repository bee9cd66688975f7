/** What the CLI prints: tables fitted to the terminal, JSON for scripts, progress on a TTY. */

export interface Column<T> {
  title: string;
  value(row: T): string;
  /** Columns with a higher priority number are dropped first when the terminal is too narrow. */
  drop?: number;
  /** The one column that is cut short (with …) when dropping is not enough. */
  shrinks?: boolean;
}

/**
 * A plain-text table. On a terminal narrower than the table, optional columns go first, then the
 * shrinking column is cut; written to a pipe (no width), nothing is cut.
 */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[], width: number | undefined): string {
  let shown = [...columns];
  const cells = (cols: Column<T>[]) => rows.map((row) => cols.map((column) => clean(column.value(row))));
  const widths = (cols: Column<T>[], body: string[][]) =>
    cols.map((column, i) => Math.max(column.title.length, ...body.map((line) => line[i]!.length)));
  const total = (w: number[]) => w.reduce((sum, n) => sum + n, 0) + 2 * (w.length - 1);
  let body = cells(shown);
  let w = widths(shown, body);
  if (width !== undefined) {
    const droppable = shown.filter((c) => c.drop !== undefined).sort((a, b) => b.drop! - a.drop!);
    while (total(w) > width && droppable.length > 0) {
      const victim = droppable.shift()!;
      shown = shown.filter((c) => c !== victim);
      body = cells(shown);
      w = widths(shown, body);
    }
    const shrinking = shown.findIndex((c) => c.shrinks);
    if (total(w) > width && shrinking >= 0) {
      const room = Math.max(shown[shrinking]!.title.length, w[shrinking]! - (total(w) - width));
      w[shrinking] = room;
      for (const line of body) line[shrinking] = cut(line[shrinking]!, room);
    }
  }
  const render = (line: string[]) =>
    line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(w[i]!))).join('  ');
  return [render(shown.map((c) => c.title)), ...body.map(render)].join('\n');
}

/** Control characters from the server never reach the terminal as such. */
export function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * A one-line status on stderr while the CLI waits, only when stderr is a terminal (never in
 * pipes, logs or scripts). `clear()` before anything else is written to the terminal.
 */
export class Progress {
  private readonly enabled: boolean;
  private text = '';
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = stream.isTTY === true;
  }

  show(text: string): void {
    if (!this.enabled) return;
    this.text = text;
    this.draw();
    this.timer ??= setInterval(() => this.draw(), 120).unref();
  }

  clear(): void {
    if (!this.enabled || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write('\r\u001b[2K');
  }

  private draw(): void {
    const spinner = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[this.frame++ % 10];
    const width = (this.stream.columns ?? 80) - 3;
    this.stream.write(`\r\u001b[2K${spinner} ${cut(this.text, width)}`);
  }
}
