/**
 * The `reason` label of etcdns_etcd_invalid_values_total: one of a closed set, whatever the
 * data. The full reason (which may quote the key or the value) goes to the log line only; as a
 * label it would let anyone who can write to etcd add metric series without bound.
 */
export const INVALID_REASONS = [
  'key',
  'value-size',
  'utf8',
  'json',
  'not-object',
  'host',
  'port',
  'priority',
  'weight',
  'text',
  'mail',
  'ttl',
  'targetstrip',
  'group',
  'etcdns',
  'name-server',
  'skipped-change',
  'skipped-batch',
  'skipped-callback',
  'outside-zones',
  'other',
] as const;
export type InvalidReason = (typeof INVALID_REASONS)[number];

const FIELDS: ReadonlySet<string> = new Set(['host', 'port', 'priority', 'weight', 'text', 'mail', 'ttl', 'targetstrip', 'group', 'etcdns']);

/** Maps a reason from the codec (splitKey, parseService), the index or the source (`skipped-…`) to its label. */
export function invalidReasonLabel(reason: string): InvalidReason {
  if (reason === 'skipped-change' || reason === 'skipped-batch' || reason === 'skipped-callback' || reason === 'outside-zones') return reason;
  const field = /^([a-z]+): /.exec(reason)?.[1];
  if (field !== undefined && FIELDS.has(field)) return field as InvalidReason;
  if (reason.startsWith('invalid JSON')) return 'json';
  if (reason.startsWith('expected a JSON object')) return 'not-object';
  if (reason === 'value is not valid UTF-8') return 'utf8';
  if (reason.startsWith('value is ')) return 'value-size';
  if (reason.startsWith('name server entry')) return 'name-server';
  if (/^(key |empty label|label |name is longer)/.test(reason)) return 'key';
  return 'other';
}
