import { Agent, request } from "undici";
import type { ControlPlane } from "../control-plane/control-plane.ts";
import { sumSeries } from "./prometheus-text.ts";

const MUTATING = ["POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"];

/** Requests the API server has served, by what they did: counted by the server, not by the client that sent them. */
export interface RequestCounts {
  /** Creates, updates, patches, applies and deletes of Secrets. */
  readonly secretWrites: number;
  /** GETs of one Secret (a LIST or a WATCH is not counted here). */
  readonly secretGets: number;
  /** Writes of StapleConfigs (the controller writes only their status). */
  readonly statusWrites: number;
  readonly eventWrites: number;
  /** All of the above writes: what the controller may write (kube-apiserver's own Lease renewals are left out). */
  readonly allWrites: number;
}

/**
 * Reads kube-apiserver's own `apiserver_request_total` (its /metrics, as the
 * admin): what reached the server, whoever sent it. The scale bench and the
 * tests take the difference between two readings around what they measure,
 * so their own requests (set-up, the floor) fall outside the figures.
 */
export async function countRequests(plane: ControlPlane): Promise<RequestCounts> {
  const dispatcher = new Agent({ connect: { ca: plane.caPem } });
  try {
    const response = await request(`${plane.server}/metrics`, { headers: { authorization: `Bearer ${plane.token}` }, dispatcher });
    const text = await response.body.text();
    const verbs = (labels: Record<string, string>, verbList: readonly string[]) =>
      verbList.reduce((sum, verb) => sum + sumSeries(text, "apiserver_request_total", { ...labels, verb }), 0);
    const secretWrites = verbs({ resource: "secrets" }, MUTATING);
    const statusWrites = verbs({ resource: "stapleconfigs" }, MUTATING);
    const eventWrites = verbs({ resource: "events" }, MUTATING);
    return { secretWrites, secretGets: verbs({ resource: "secrets" }, ["GET"]), statusWrites, eventWrites, allWrites: secretWrites + statusWrites + eventWrites };
  } finally {
    await dispatcher.close();
  }
}

/** `after` less `before`, field by field. */
export function requestsBetween(before: RequestCounts, after: RequestCounts): RequestCounts {
  return {
    secretWrites: after.secretWrites - before.secretWrites,
    secretGets: after.secretGets - before.secretGets,
    statusWrites: after.statusWrites - before.statusWrites,
    eventWrites: after.eventWrites - before.eventWrites,
    allWrites: after.allWrites - before.allWrites,
  };
}
