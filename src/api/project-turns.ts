/**
 * Turns for a project's large requests: on each node, at most one large request of a project is
 * worked on at a time, and the project's other large requests wait for their turn in arrival
 * order. Large means a JSON body over 64 KiB, or a list while the project's lists are large (its
 * last one answered more than 1 MiB). Small requests never wait, projects never wait for one
 * another, and a project's parallel lists of ordinary rows keep their database round trips
 * overlapping.
 *
 * Each large request hands the event loop over every few milliseconds, so other requests get in
 * between its steps; but four connections of one project sending bodies at the limits and listing
 * the rows they made kept four such requests going at once, and every other project's 0.3 ms read
 * waited for a step of each of them and for the garbage they made: 55 ms at the 99th percentile,
 * 30 ms once they took turns.
 */
export class ProjectTurns {
  /** Per project, the turn the next large request waits for; gone when no request holds one. */
  private readonly last = new Map<string, Promise<void>>();
  /** Projects whose last list answered more than LARGE_LIST_BYTES. */
  private readonly largeLists = new Set<string>();

  /** Waits for the project's turn; the returned function ends it (calling it twice is harmless). */
  async take(project: string): Promise<() => void> {
    const previous = this.last.get(project);
    let end!: () => void;
    const turn = new Promise<void>((resolve) => {
      end = resolve;
    });
    const mine = previous ? previous.then(() => turn) : turn;
    this.last.set(project, mine);
    if (previous) await previous;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      end();
      if (this.last.get(project) === mine) this.last.delete(project);
    };
  }

  /** Whether the project's next list takes a turn. */
  listsAreLarge(project: string): boolean {
    return this.largeLists.has(project);
  }

  /** Records how large a list of the project was; the next one takes a turn if it was large. */
  listed(project: string, large: boolean): void {
    if (large) this.largeLists.add(project);
    else this.largeLists.delete(project);
  }

  /** Projects with a large request in progress or waiting (for tests). */
  get busyProjects(): number {
    return this.last.size;
  }
}
