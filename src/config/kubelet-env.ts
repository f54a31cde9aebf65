/**
 * The variables kubelet puts into every container of a namespace for each Service there, when
 * the pod leaves `enableServiceLinks` at its default (true): for a Service named `etcdns`,
 * `ETCDNS_SERVICE_HOST`, `ETCDNS_PORT`, `ETCDNS_PORT_53_UDP_ADDR`, ... They share our ETCDNS_
 * prefix but are not settings, so they are recognised by their exact shapes, names and values
 * (kubernetes pkg/kubelet/envvars/envvars.go), and skipped; any other unknown ETCDNS_ variable
 * is still a typo and an error.
 *
 * The Service may be named `etcdns` or anything starting `etcdns-` (a Helm release's
 * `etcdns-dns`): kubelet upper-cases the name and turns dashes into underscores.
 */
import { isIP } from 'node:net';

const PORT = /^\d{1,5}$/;
const PROTO = /^(tcp|udp|sctp)$/;
/** `udp://10.96.0.10:53`, `tcp://[fd00::10]:53`. */
const LINK = /^(tcp|udp|sctp):\/\/(?:\[([^\]]+)\]|([^:/]+)):(\d{1,5})$/;

const isPort = (v: string) => PORT.test(v) && Number(v) <= 65535;
const isAddress = (v: string) => isIP(v) !== 0;
function isLink(v: string, proto?: string, port?: string): boolean {
  const m = LINK.exec(v);
  if (!m || !isPort(m[4]!) || !isAddress(m[2] ?? m[3]!)) return false;
  return (proto === undefined || m[1] === proto) && (port === undefined || m[4] === port);
}

/** Service names as kubelet writes them: ETCDNS, or ETCDNS_ and more of a DNS label. */
const SERVICE = 'ETCDNS(?:_[A-Z0-9_]+)?';
const SHAPES: readonly [RegExp, (value: string, m: RegExpExecArray) => boolean][] = [
  [new RegExp(`^${SERVICE}_SERVICE_HOST$`), isAddress],
  [new RegExp(`^${SERVICE}_SERVICE_PORT(?:_[A-Z0-9_]+)?$`), isPort],
  [new RegExp(`^${SERVICE}_PORT$`), (v) => isLink(v)],
  [new RegExp(`^${SERVICE}_PORT_(\\d{1,5})_(TCP|UDP|SCTP)$`), (v, m) => isLink(v, m[2]!.toLowerCase(), m[1])],
  [new RegExp(`^${SERVICE}_PORT_(\\d{1,5})_(TCP|UDP|SCTP)_PROTO$`), (v, m) => PROTO.test(v) && v === m[2]!.toLowerCase()],
  [new RegExp(`^${SERVICE}_PORT_(\\d{1,5})_(TCP|UDP|SCTP)_PORT$`), (v, m) => v === m[1]],
  [new RegExp(`^${SERVICE}_PORT_(\\d{1,5})_(TCP|UDP|SCTP)_ADDR$`), isAddress],
];

/** Whether `variable=value` is one kubelet injects for a Service whose name starts with etcdns. */
export function isKubeletServiceVariable(variable: string, value: string): boolean {
  for (const [shape, valid] of SHAPES) {
    const m = shape.exec(variable);
    if (m && valid(value, m)) return true;
  }
  return false;
}

/** The kubelet service variables in `env`, sorted; the CLI logs them at debug. */
export function kubeletServiceVariables(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([variable, value]) => variable.startsWith('ETCDNS_') && value !== undefined && isKubeletServiceVariable(variable, value))
    .map(([variable]) => variable)
    .sort();
}
