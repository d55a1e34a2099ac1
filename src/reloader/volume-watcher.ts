import { watch, type FSWatcher } from "node:fs";
import type { Scheduler, Timer } from "../ocsp/clock.ts";

export interface WatchedEntry {
  readonly dir: string;
  /** The file's name in `dir` (`tls.ocsp`); events on it or on `..data` count. */
  readonly entry: string;
}

export interface VolumeWatcherOptions {
  /** The timers of the poll and the debounce. */
  readonly clock: Scheduler;
  /** The safety net: a sync this often whatever the events say (missed events, a directory that appeared late). */
  readonly intervalMs: number;
  /** Events closer together than this make one sync (a kubelet update is several renames). */
  readonly debounceMs: number;
  readonly onChange: () => void;
}

/**
 * Notices updates of files mounted from a Secret or projected volume. The
 * kubelet never rewrites a file in place: it writes a new timestamped
 * directory, points `..data_tmp` at it and renames `..data_tmp` over
 * `..data` (atomic), while `tls.ocsp -> ..data/tls.ocsp` stays put. So the
 * directory is watched for `..data` (and, for plain files, the file's own
 * name), and polled every `intervalMs` in case an event is lost (inotify
 * overflow, a volume mounted after start). What changed is not decided here:
 * the loop re-reads and compares.
 */
export class VolumeWatcher {
  private readonly dirs: Map<string, Set<string>>;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly options: VolumeWatcherOptions;
  private poll: Timer | undefined;
  private debounce: Timer | undefined;
  private stopped = false;

  constructor(entries: readonly WatchedEntry[], options: VolumeWatcherOptions) {
    this.options = options;
    this.dirs = new Map();
    for (const { dir, entry } of entries) this.dirs.set(dir, (this.dirs.get(dir) ?? new Set(["..data"])).add(entry));
  }

  start(): void {
    this.attach();
    this.schedulePoll();
  }

  stop(): void {
    this.stopped = true;
    this.poll?.cancel();
    this.debounce?.cancel();
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Watches every directory not yet watched; one that does not exist yet is retried at the next poll. */
  private attach(): void {
    for (const [dir, names] of this.dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => {
          if (filename === null || names.has(filename)) this.changed();
        });
        watcher.on("error", () => { watcher.close(); this.watchers.delete(dir); this.changed(); });
        this.watchers.set(dir, watcher);
      } catch {
        // Not there (yet): the poll keeps trying.
      }
    }
  }

  /** The next poll, `intervalMs` after this one (re-armed each time, as setInterval would). */
  private schedulePoll(): void {
    this.poll = this.options.clock.setTimer(this.options.intervalMs, () => {
      this.attach();
      this.options.onChange();
      // onChange may have stopped the watcher: then nothing is armed again.
      if (!this.stopped) this.schedulePoll();
    });
  }

  private changed(): void {
    this.debounce?.cancel();
    this.debounce = this.options.clock.setTimer(this.options.debounceMs, () => { this.options.onChange(); });
  }
}
