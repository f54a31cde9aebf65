import { rcodeName, typeName } from '../dns/constants.js';
import { toPresentation } from '../dns/name.js';
import type { Logger } from '../log.js';
import type { QueryObserver } from './request.js';

/** --log-queries: one line per reply sent, as an observer of the pipeline. */
export function queryLog(logger: Logger): QueryObserver {
  return (e) => {
    logger.info(
      {
        remote: `${e.remoteAddress}:${e.remotePort}`,
        transport: e.transport,
        name: e.name === undefined ? undefined : toPresentation(e.name),
        type: typeName(e.type),
        rcode: rcodeName(e.rcode),
        size: e.size,
        truncated: e.truncated,
        ms: Number((performance.now() - e.startedAt).toFixed(3)),
      },
      'query',
    );
  };
}
