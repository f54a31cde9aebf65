/** Shared by the resolver's table tests: questions in presentation form, outcomes as text. */
import { typeCode } from '../dns/constants.js';
import { formatRR } from '../dns/present.js';
import type { Snapshot } from '../table/snapshot.js';
import { resolve } from './resolve.js';

/** Resolves "name TYPE" and gives the outcome with its records in zone-file syntax. */
export function ask(snapshot: Snapshot, question: string) {
  const [name, type] = question.split(/\s+/) as [string, string];
  const outcome = resolve({ name: name.replace(/\.$/, ''), type: typeCode(type)! }, snapshot);
  if (outcome.kind === 'notours') return { kind: outcome.kind };
  return {
    kind: outcome.kind,
    answer: outcome.answer.map(formatRR),
    authority: outcome.authority.map(formatRR),
    additional: outcome.additional.map(formatRR),
  };
}
