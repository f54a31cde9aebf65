import { describe, expect, it } from 'vitest';
import { configFailure, loadConfig } from '../../test/support/config.js';
import { KUBELET_ETCDNS_SERVICE } from '../../test/support/kubelet.js';
import { isKubeletServiceVariable, kubeletServiceVariables } from './kubelet-env.js';


describe('kubelet service-link variables', () => {
  it('are ignored when loading the config, for a Service named etcdns (IPv4) or etcdns-dns (IPv6)', () => {
    expect(loadConfig([], { ...KUBELET_ETCDNS_SERVICE }).listen).toEqual([{ host: '127.0.0.1', port: 1053 }]);
    const v6 = { ETCDNS_DNS_SERVICE_HOST: 'fd00::10', ETCDNS_DNS_PORT: 'udp://[fd00::10]:53', ETCDNS_DNS_PORT_53_UDP: 'udp://[fd00::10]:53', ETCDNS_DNS_PORT_53_UDP_ADDR: 'fd00::10' };
    expect(() => loadConfig([], v6)).not.toThrow();
    expect(kubeletServiceVariables({ ...KUBELET_ETCDNS_SERVICE, ETCDNS_LISTEN: '127.0.0.1:53', PATH: '/bin' })).toEqual(Object.keys(KUBELET_ETCDNS_SERVICE).sort());
  });

  it('are recognised by name and value together: anything else under ETCDNS_ is still an error', () => {
    for (const [variable, value] of [
      ['ETCDNS_PORT', '53'], // not a link URL
      ['ETCDNS_SERVICE_HOST', 'etcdns.default.svc'], // not an IP
      ['ETCDNS_PORT_53_UDP', 'tcp://10.96.0.10:53'], // protocol disagrees with the name
      ['ETCDNS_PORT_53_UDP_PORT', '54'], // port disagrees with the name
      ['ETCDNS_PORT_53_UDP_PROTO', 'tcp'],
      ['ETCDNS_SERVICE_PORT', '70000'],
      ['ETCDNS_METRICS_PORT', '9153'],
      ['ETCDNS_PORT_53_QUIC', 'quic://10.96.0.10:53'],
    ] as const) {
      expect(isKubeletServiceVariable(variable, value), `${variable}=${value}`).toBe(false);
      expect(configFailure([], { [variable]: value })).toMatch(new RegExp(`^unknown environment variable ${variable}`));
    }
  });
});
