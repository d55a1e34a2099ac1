import type { CoreV1Api } from "@kubernetes/client-node";
import PQueue from "p-queue";
import type { Logger } from "pino";
import type { Clock } from "../ocsp/clock.ts";
import type { EventReason } from "../staple/reasons.ts";
import { EventSpamFilter } from "./event-spam-filter.ts";

/** The Kubernetes objects Events are about. */
export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/**
 * Events written at once: half the controller's writer pool. A cold start
 * records one `Stapled` Event per Secret; two at a time, 10,000 of them were
 * still being written a minute after the last staple.
 */
const CONCURRENT_EVENT_WRITES = 4;

/**
 * Writes core/v1 Events (what `kubectl describe` shows). Fire and forget: a
 * failed Event write is logged, never fails a reconcile. Callers emit only on
 * transitions, so a failing responder does not flood the Event stream. Writes
 * go through a small queue: unbounded, a first sync of thousands of Secrets
 * opened a connection per Event at once. Beyond a burst, Events about one
 * object are dropped (EventSpamFilter), as client-go's recorder does.
 */
export class EventRecorder {
  private readonly api: CoreV1Api;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly onWrite: () => void;
  private readonly writes = new PQueue({ concurrency: CONCURRENT_EVENT_WRITES });
  private readonly spam = new EventSpamFilter();

  constructor(api: CoreV1Api, clock: Clock, logger: Logger, onWrite: () => void = () => undefined) {
    this.api = api;
    this.clock = clock;
    this.logger = logger;
    this.onWrite = onWrite;
  }

  /** Resolves once every Event recorded so far has been written (or its failure logged). */
  whenWritten(): Promise<void> {
    return this.writes.onIdle();
  }

  record(targets: readonly EventTarget[], type: "Normal" | "Warning", reason: EventReason, message: string): void {
    const now = this.clock.now();
    for (const target of targets) {
      if (!this.spam.allow(target.uid, now.getTime())) {
        this.logger.debug({ reason, kind: target.kind, namespace: target.namespace, name: target.name }, "Event dropped: too many about this object");
        continue;
      }
      this.onWrite();
      void this.writes.add(() => this.api.createNamespacedEvent({
        namespace: target.namespace,
        body: {
          metadata: { generateName: `${target.name}.`, namespace: target.namespace },
          involvedObject: { apiVersion: target.apiVersion, kind: target.kind, namespace: target.namespace, name: target.name, uid: target.uid },
          type, reason, message: message.slice(0, 1024),
          source: { component: "ocsp-stapler" }, reportingComponent: "ocsp-stapler",
          firstTimestamp: now, lastTimestamp: now, count: 1,
        },
      }).catch((error: unknown) => {
        this.logger.warn({ reason, namespace: target.namespace, name: target.name, err: error instanceof Error ? error.message.split("\n")[0] : String(error) }, "could not record an Event");
      }));
    }
  }
}
