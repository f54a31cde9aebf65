/**
 * Which zones a new snapshot starts or stops serving, for one log line each: an operator sees
 * when a zone appears (a file loaded, etcd synced) and when it goes (a file removed or, for a
 * zone of both sources, only its etcd part), not just the whole list.
 */
import type { Name } from '../dns/name.js';
import type { ZoneView } from './zone.js';

export interface ZoneChanges {
  readonly started: readonly { zone: Name; source: string }[];
  readonly stopped: readonly Name[];
}

export function zoneChanges(before: ReadonlyMap<Name, ZoneView>, after: ReadonlyMap<Name, ZoneView>): ZoneChanges {
  const started: { zone: Name; source: string }[] = [];
  const stopped: Name[] = [];
  for (const [zone, view] of after) if (!before.has(zone)) started.push({ zone, source: view.source });
  for (const zone of before.keys()) if (!after.has(zone)) stopped.push(zone);
  return { started, stopped };
}
