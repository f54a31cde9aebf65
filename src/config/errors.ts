/**
 * The two errors of configuration: a value one parser refuses (ValueError, which the loader
 * turns into a ConfigError naming where the value came from) and a mistake the user sees
 * (ConfigError).
 */
import { EtcdnsError } from '../errors.js';

/**
 * A value that cannot be used. The loader prefixes where it came from (flag, env variable,
 * config file key); `offending` is the part shown, when it is not the whole value (one item
 * of a list).
 */
export class ValueError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_CONFIG_VALUE';

  constructor(
    message: string,
    readonly offending?: unknown,
  ) {
    super(message);
  }
}

/** A configuration mistake; `message` is the one line shown to the user (after "etcdns: "). */
export class ConfigError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_CONFIG';
}
