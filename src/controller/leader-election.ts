import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Scheduler } from "../ocsp/clock.ts";

export interface LeaderElectionOptions {
  /** The Lease calls of client-node's CoordinationV1Api (a test can hand in its own). */
  readonly api: Pick<CoordinationV1Api, "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease">;
  readonly namespace: string;
  readonly name: string;
  /** This replica's name in the Lease (pod name and a random suffix). */
  readonly identity: string;
  /** The time leases are judged by, and the timer between attempts. */
  readonly clock: Scheduler;
  readonly logger: Logger;
  /** Followers wait this long after the last renewal they saw before taking over (client-go: 15 s). */
  readonly leaseDurationMs?: number;
  /** A leader that could not renew for this long stops leading (client-go: 10 s). */
  readonly renewDeadlineMs?: number;
  /** How often to try to acquire or renew (client-go: 2 s). */
  readonly retryPeriodMs?: number;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it,
 * so two replicas never both write: acquire when the Lease is free or its
 * holder has not renewed for leaseDuration (measured from when *we* saw the
 * last change, so clock skew between nodes does not matter), renew every
 * retryPeriod with optimistic concurrency (a stale resourceVersion loses),
 * and stop leading if renewing fails for renewDeadline. On a graceful stop the
 * Lease is released so a follower takes over at once.
 */
export class LeaderElector {
  private readonly options: Required<LeaderElectionOptions>;
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private lastRenewal = 0;
  private stopped = false;
  /** Aborted by `stop`: wakes the wait between attempts, so a stop is not held for a retry period. */
  private readonly stopping = new AbortController();

  constructor(options: LeaderElectionOptions) {
    this.options = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
  }

  /**
   * Runs until `stop`: calls `onStartedLeading` when this replica becomes
   * leader and `onStoppedLeading` if it loses the Lease afterwards.
   */
  async run(onStartedLeading: () => void, onStoppedLeading: () => void): Promise<void> {
    let leading = false;
    while (!this.stopped) {
      const holds = await this.tryAcquireOrRenew().catch((error: unknown) => {
        this.options.logger.warn({ lease: this.options.name, err: error instanceof ApiException ? `HTTP ${error.code}` : String(error) }, "lease update failed");
        return false;
      });
      const now = this.options.clock.now().getTime();
      if (holds) this.lastRenewal = now;
      if (holds && !leading) {
        leading = true;
        this.options.logger.info({ lease: this.options.name, identity: this.options.identity }, "became leader");
        onStartedLeading();
      } else if (leading && !holds && now - this.lastRenewal > this.options.renewDeadlineMs) {
        leading = false;
        this.options.logger.error({ lease: this.options.name }, "lost leadership");
        onStoppedLeading();
      }
      await this.options.clock.sleep(this.options.retryPeriodMs, this.stopping.signal);
    }
    if (leading) await this.release();
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.options;
    const now = this.options.clock.now();
    const lease = await this.read();
    if (lease === undefined) {
      await api.createNamespacedLease({ namespace, body: this.leaseBody(undefined, now) });
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? "";
    const renewTime = String(lease.spec?.renewTime ?? "");
    if (this.observed?.holder !== holder || this.observed.renewTime !== renewTime) this.observed = { holder, renewTime, at: now.getTime() };
    const expired = this.observed.at + (lease.spec?.leaseDurationSeconds ?? 15) * 1000 < now.getTime();
    if (holder !== identity && holder !== "" && !expired) return false;
    try {
      await api.replaceNamespacedLease({ name, namespace, body: this.leaseBody(lease, now) });
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return false; // someone else updated it first
      throw error;
    }
  }

  /** The Lease as we write it: held by us, or (`release`) held by nobody and expiring at once. */
  private leaseBody(current: V1Lease | undefined, now: Date, intent: "hold" | "release" = "hold"): V1Lease {
    const taking = current?.spec?.holderIdentity !== this.options.identity;
    const time = new V1MicroTime(now.getTime());
    return {
      metadata: { name: this.options.name, namespace: this.options.namespace, ...(current?.metadata?.resourceVersion === undefined ? {} : { resourceVersion: current.metadata.resourceVersion }) },
      spec: {
        holderIdentity: intent === "hold" ? this.options.identity : "",
        leaseDurationSeconds: intent === "hold" ? Math.ceil(this.options.leaseDurationMs / 1000) : 1,
        acquireTime: taking ? time : (current.spec?.acquireTime ?? time),
        renewTime: time,
        leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (taking && current !== undefined ? 1 : 0),
      },
    };
  }

  /** Gives the Lease up so a follower need not wait for it to expire. */
  private async release(): Promise<void> {
    const lease = await this.read().catch(() => undefined);
    if (lease?.spec?.holderIdentity !== this.options.identity) return;
    await this.options.api.replaceNamespacedLease({
      name: this.options.name, namespace: this.options.namespace, body: this.leaseBody(lease, this.options.clock.now(), "release"),
    }).catch(() => undefined);
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.options.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }
}
