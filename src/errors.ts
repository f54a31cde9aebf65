/**
 * The one base class of every error etcdns throws on purpose. Each subclass has a stable
 * `code` (as fastify's FST_ERR_* and undici's UND_ERR_* do): callers, the CLI's exit messages
 * and SDK users branch on `error.code`, never on message text, which may be reworded.
 *
 * Codes are `ETCDNS_ERR_<AREA>[_<WHAT>]`, upper case, and never change once released.
 */
export abstract class EtcdnsError extends Error {
  abstract readonly code: `ETCDNS_ERR_${string}`;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // The subclass's own name in stack traces and `String(error)`, without repeating it in each.
    this.name = new.target.name;
  }
}

/** Whether `error` is one of ours, optionally with the given code. */
export function isEtcdnsError(error: unknown, code?: string): error is EtcdnsError {
  return error instanceof EtcdnsError && (code === undefined || error.code === code);
}

/** The text to show for any thrown value: an Error's message, anything else as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
