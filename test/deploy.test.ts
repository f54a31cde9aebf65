/**
 * (Over 500 lines: manifests, Dockerfile and option table are checked against each other, so they share one file.)
 *
 * The deployment files against the server they deploy: the Kubernetes manifests (k8s/) and
 * the Dockerfile must agree with the option table and the defaults in the code, so that a
 * renamed option, a moved port or a changed probe path fails here rather than in a cluster.
 *
 * - Manifests are rendered as `kubectl kustomize` would (our own reader of the few
 *   kustomization features used; compared with kubectl's output when kubectl is on PATH), and
 *   every object is checked against the Kubernetes API schema with kubernetes-models.
 * - The Dockerfile is parsed with dockerfile-ast and its COPY and RUN steps are replayed in
 *   temporary directories (no Docker engine needed): the production stage's files are then
 *   started with the image's ENTRYPOINT and CMD, queried with dig, probed with the image's own
 *   HEALTHCHECK command, and stopped with its STOPSIGNAL.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DockerfileParser, ModifiableInstruction, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../src/config/load.js';
import type { OptionSpec } from '../src/config/option-spec.js';
import { SERVE_OPTIONS, type ServeConfig } from '../src/config/serve-options.js';
import { checkZoneFile } from '../src/sources/zonefile/directory.js';
import { dig } from './support/dig.js';
import { cleanEnv, onLogLine, REPO_ROOT } from './support/server.js';

const run = promisify(execFile);
const OPTIONS: readonly OptionSpec[] = SERVE_OPTIONS;
const K8S = join(REPO_ROOT, 'k8s');
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
/** DnsTransport's grace for TCP queries in flight once the listeners close (transport/server.ts). */
const TCP_GRACE_MS = 5000;

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Rendering k8s/ as kustomize does

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [field: string]: unknown;
}

function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
const KUSTOMIZATION_KEYS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'configMapGenerator', 'patches', 'images']);

interface Kustomization {
  namespace?: string;
  resources?: string[];
  configMapGenerator?: { name: string; files?: string[]; literals?: string[]; options?: { disableNameSuffixHash?: boolean } }[];
  patches?: { path?: string; target?: unknown; patch?: string }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

/**
 * The kustomization in `dir`, rendered. Supports what k8s/ uses and fails loudly on anything
 * else, so that it never renders differently from kustomize in silence. Generated names get
 * no hash suffix here (`hashed` collects them, to normalise kubectl's output).
 */
function renderKustomization(dir: string, hashed: Set<string>): K8sObject[] {
  const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  for (const key of Object.keys(k)) if (!KUSTOMIZATION_KEYS.has(key)) throw new Error(`${dir}: kustomization key ${key} is not supported by this test's renderer`);
  const objects: K8sObject[] = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path, hashed) : readObjects(path)));
  }
  for (const gen of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const file of gen.files ?? []) data[basename(file)] = readFileSync(join(dir, file), 'utf8');
    for (const literal of gen.literals ?? []) {
      const eq = literal.indexOf('=');
      data[literal.slice(0, eq)] = literal.slice(eq + 1);
    }
    if (!gen.options?.disableNameSuffixHash) hashed.add(gen.name);
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data });
  }
  for (const p of k.patches ?? []) {
    if (p.path === undefined || p.target !== undefined || p.patch !== undefined) throw new Error(`${dir}: only strategic-merge patches by path are supported`);
    for (const patch of readObjects(join(dir, p.path))) {
      const target = objects.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (!target) throw new Error(`${dir}: patch ${p.path} matches no object`);
      mergeMaps(target, patch, `${p.path}`);
    }
  }
  if (k.namespace !== undefined) for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  for (const image of k.images ?? []) {
    for (const o of objects) {
      for (const c of podSpecOf(o)?.containers ?? []) {
        const [name] = c.image.split(':');
        if (name === image.name) c.image = `${image.newName ?? name}:${image.newTag ?? 'latest'}`;
      }
    }
  }
  return objects;
}

/** A strategic merge of maps only; a list in a patch would need merge keys, which we do not do. */
function mergeMaps(target: Record<string, unknown>, patch: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (Array.isArray(value)) throw new Error(`${where}: lists in patches are not supported by this test's renderer (${key})`);
    const current = target[key];
    if (value !== null && typeof value === 'object' && current !== null && typeof current === 'object') mergeMaps(current as Record<string, unknown>, value as Record<string, unknown>, where);
    else target[key] = value;
  }
}

/** kubectl's rendering with the generated names' hash suffixes removed. */
function kubectlRender(dir: string, hashed: ReadonlySet<string>): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  const unhash = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const m = /^(.*)-[a-z0-9]{10}$/.exec(value);
      return m && hashed.has(m[1]!) ? m[1] : value;
    }
    if (Array.isArray(value)) return value.map(unhash);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unhash(v)]));
    return value;
  };
  return parseAllDocuments(text).map((d) => unhash(d.toJS()) as K8sObject);
}

// ---------------------------------------------------------------------------------------------
// Kubernetes shapes the checks read (the schema itself is kubernetes-models' business)

interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
  dnsPolicy?: string;
  dnsConfig?: { nameservers?: string[] };
  topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string; labelSelector?: { matchLabels?: Record<string, string> } }[];
  affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: { topologyKey: string } }[] } };
}

function podSpecOf(o: K8sObject): PodSpec | undefined {
  if (o.kind === 'Pod') return o.spec as PodSpec;
  const template = (o.spec as { template?: { spec: PodSpec } } | undefined)?.template;
  return template?.spec;
}

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** A container port by number or name, as probes and Services refer to them. */
function containerPort(c: Container, port: number | string, protocol = 'TCP'): number {
  if (typeof port === 'number') return port;
  const found = c.ports?.find((p) => p.name === port && (p.protocol ?? 'TCP') === protocol);
  if (!found) throw new Error(`container ${c.name} has no ${protocol} port named ${port}`);
  return found.containerPort;
}

function secretValue(objects: readonly K8sObject[], name: string, key: string): string | undefined {
  const secret = find(objects, 'Secret', name) as K8sObject & { stringData?: Record<string, string>; data?: Record<string, string> };
  if (secret.stringData?.[key] !== undefined) return secret.stringData[key];
  const b64 = secret.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

/** A Kubernetes resource quantity ("100m", "128Mi", "1") as a number (cores, bytes). */
function quantity(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(text);
  if (!m) throw new Error(`not a quantity: ${text}`);
  const scale: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(m[1]) * (m[2] === undefined ? 1 : scale[m[2]]!);
}

type Model = new (data: never) => { validate(): void };

/** What the schema says is wrong with `o` (kubernetes-models throws ajv's errors), or nothing. */
function schemaErrors(Model: Model, o: K8sObject): string[] {
  try {
    new Model(o as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    return errors ? errors.map((e) => `${e.instancePath} ${e.message ?? ''}`) : [String(err)];
  }
}

const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Pod': Pod,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

// ---------------------------------------------------------------------------------------------

const renders = {
  base: { dir: K8S, hashed: new Set<string>() },
  'with-secret': { dir: join(K8S, 'examples', 'secret'), hashed: new Set<string>() },
  'fixed-clusterip': { dir: join(K8S, 'examples', 'fixed-clusterip'), hashed: new Set<string>() },
  'with-etcd': { dir: join(K8S, 'with-etcd'), hashed: new Set<string>() },
};
/** The renders that carry the etcdns-etcd Secret: the base has none (the user makes it). */
const WITH_SECRET = ['with-secret', 'with-etcd'] as const;
const rendered = Object.fromEntries(Object.entries(renders).map(([name, r]) => [name, renderKustomization(r.dir, r.hashed)])) as Record<keyof typeof renders, K8sObject[]>;
const examples = ['pod-dnsconfig.yaml', 'external-dns.yaml'].map((f) => ({ file: f, objects: readObjects(join(K8S, 'examples', f)) }));

interface PodConfig {
  config: ServeConfig;
  container: Container;
  spec: PodSpec;
  /** A temporary directory holding the config file. */
  dir: string;
}
const podConfigs = new Map<readonly K8sObject[], PodConfig>();

/** The server's configuration exactly as a pod of this rendering would load it. */
function podConfig(objects: readonly K8sObject[]): PodConfig {
  const known = podConfigs.get(objects);
  if (known) return known;
  const spec = podSpecOf(find(objects, 'Deployment', 'etcdns'))!;
  const container = spec.containers.find((c) => c.name === 'etcdns')!;
  const args = container.args ?? [];
  const configPath = args[args.indexOf('--config') + 1];
  if (args[0] !== 'serve' || configPath === undefined) throw new Error(`container args ${JSON.stringify(args)}: not serve --config FILE`);
  // The file the --config argument names is a key of the ConfigMap mounted there.
  const mount = container.volumeMounts?.find((m) => m.mountPath === configPath);
  if (!mount) throw new Error(`no volume mounted at ${configPath}`);
  const volume = spec.volumes!.find((v) => v.name === mount.name)!;
  const configMap = find(objects, 'ConfigMap', volume.configMap!.name) as K8sObject & { data: Record<string, string> };
  const text = configMap.data[mount.subPath ?? basename(configPath)];
  if (text === undefined) throw new Error(`ConfigMap ${configMap.metadata.name} has no ${mount.subPath ?? basename(configPath)}`);

  const dir = tempDir('etcdns-k8s-');
  writeFileSync(join(dir, basename(configPath)), text);
  // The environment the kubelet would give the container, from the Secret.
  const env: NodeJS.ProcessEnv = {};
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    const value = ref ? secretValue(objects, ref.name, ref.key) : e.value;
    if (value !== undefined) env[e.name] = value;
  }
  const config = loadServeConfig({ argv: ['--config', join(dir, basename(configPath))], env, cwd: dir });
  const result = { config, container, spec, dir };
  podConfigs.set(objects, result);
  return result;
}

describe('Kubernetes manifests', () => {
  // The direct reading is what the other checks use; kubectl, where there is one, confirms it.
  it.for(Object.keys(renders))('%s: kubectl kustomize renders the same objects as this test reads', (name, ctx) => {
    const r = renders[name as keyof typeof renders];
    if (!which('kubectl')) return ctx.skip('kubectl not on PATH');
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const byKey = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [key(o), o]));
    expect(byKey(kubectlRender(r.dir, r.hashed))).toEqual(byKey(rendered[name as keyof typeof renders]));
  });

  const everything = [
    ...Object.entries(rendered).flatMap(([name, objects]) => objects.map((o) => [name, o] as const)),
    ...examples.flatMap(({ file, objects }) => objects.map((o) => [file, o] as const)),
  ];
  it.each(everything.map(([where, o]) => [`${where}: ${o.kind} ${o.metadata.name}`, o] as const))('%s is valid against the Kubernetes API schema', (_, o) => {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    expect(Model, `a model for ${o.apiVersion} ${o.kind}`).toBeDefined();
    expect(schemaErrors(Model!, o)).toEqual([]);
  });

  it('the schema check does catch mistakes', () => {
    const deployment = structuredClone(find(rendered.base, 'Deployment', 'etcdns')) as K8sObject;
    (podSpecOf(deployment)!.containers[0]!.ports![0] as { containerPort: unknown }).containerPort = '1053';
    expect(schemaErrors(Deployment, deployment)).toEqual(['/spec/template/spec/containers/0/ports/0/containerPort must be integer']);
  });

  it('puts every namespaced object in one namespace, which the base creates', () => {
    for (const objects of Object.values(rendered)) {
      const namespace = find(objects, 'Namespace', 'etcdns');
      for (const o of objects) if (o !== namespace) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('etcdns');
    }
  });

  it('leaves the Secret out of the base, so that applying k8s/ again never overwrites the one the user made', () => {
    for (const name of ['base', 'fixed-clusterip'] as const) {
      expect(rendered[name].filter((o) => o.kind === 'Secret'), name).toEqual([]);
      const env = podSpecOf(find(rendered[name], 'Deployment', 'etcdns'))!.containers[0]!.env ?? [];
      expect(env.find((e) => e.name === 'ETCDNS_ETCD')?.valueFrom?.secretKeyRef).toMatchObject({ name: 'etcdns-etcd', key: 'etcd' });
    }
  });

  it('fixed-clusterip pins the Service to the ClusterIP that pod-dnsconfig.yaml names', () => {
    const service = find(rendered['fixed-clusterip'], 'Service', 'etcdns') as K8sObject & { spec: { clusterIP?: string; ports: unknown[] } };
    const pod = examples.find((e) => e.file === 'pod-dnsconfig.yaml')!.objects[0]!;
    expect(service.spec.clusterIP).toBe(podSpecOf(pod)!.dnsConfig!.nameservers![0]);
    // Only the address changes: the ports are the base's.
    expect(service.spec.ports).toEqual((find(rendered.base, 'Service', 'etcdns').spec as { ports: unknown[] }).ports);
    expect((find(rendered.base, 'Service', 'etcdns').spec as { clusterIP?: string }).clusterIP).toBeUndefined();
  });

  describe.each(WITH_SECRET)('%s', (name) => {
    const objects = rendered[name as keyof typeof renders];
    // Read in each test, so that a broken manifest fails a test rather than the collection.
    let config: ServeConfig, container: Container, spec: PodSpec, dir: string;
    beforeAll(() => void ({ config, container, spec, dir } = podConfig(objects)));

    it('loads the ConfigMap config file and the Secret environment through the real option loader', () => {
      // Only names of real options: the loader refuses unknown file keys and ETCDNS_* variables,
      // and would have thrown above. Checked explicitly as well, for a clearer message.
      const known = new Set(OPTIONS.flatMap((o) => [o.name, o.env]));
      const text = readFileSync(join(dir, 'etcdns.yaml'), 'utf8');
      for (const key of Object.keys(parseYaml(text) as object)) expect(known, `config key ${key}`).toContain(key);
      for (const e of container.env ?? []) expect(known, `env ${e.name}`).toContain(e.name);
      // The endpoints from the Secret (a comma list), the etcd zones from the file.
      expect([...config.etcd]).toEqual(secretValue(objects, 'etcdns-etcd', 'etcd')!.split(','));
      expect([...config.etcdZone]).toEqual((parseYaml(text) as { 'etcd-zone': string[] })['etcd-zone']);
      // Reachable from other pods and nodes, not just the pod's own loopback.
      expect(config.listen.map((l) => l.host)).toEqual(['0.0.0.0']);
      for (const ops of [config.healthListen, config.readyListen, config.metricsListen]) expect(ops?.host).toBe('0.0.0.0');
    });

    it('takes etcd endpoints and credentials from the Secret, under the options’ own variable names', () => {
      const byName = new Map((container.env ?? []).map((e) => [e.name, e.valueFrom?.secretKeyRef]));
      const envOf = (option: string) => OPTIONS.find((o) => o.name === option)!.env;
      expect(byName.get(envOf('etcd'))).toMatchObject({ name: 'etcdns-etcd', key: 'etcd' });
      // The endpoints are required (etcd-zone needs them): a missing key must stop the pod
      // from starting with a clear event, not start it into a configuration error.
      expect(byName.get(envOf('etcd'))!.optional).not.toBe(true);
      expect(byName.get(envOf('etcd-username'))).toMatchObject({ name: 'etcdns-etcd', key: 'username', optional: true });
      expect(byName.get(envOf('etcd-password'))).toMatchObject({ name: 'etcdns-etcd', key: 'password', optional: true });
      // Kubernetes' service links would add ETCDNS_SERVICE_HOST and friends for the etcdns
      // Service, which the loader refuses as unknown ETCDNS_* variables.
      expect(spec.enableServiceLinks).toBe(false);
    });

    it('mounts the zone files where the zones option points, and they parse', async () => {
      const mount = container.volumeMounts!.find((m) => m.mountPath === config.zones)!;
      expect(mount, `a volume at ${config.zones}`).toBeDefined();
      expect(mount.subPath).toBeUndefined(); // a directory, so that edits reach the pod
      const volume = spec.volumes!.find((v) => v.name === mount.name)!;
      const zones = find(objects, 'ConfigMap', volume.configMap!.name) as K8sObject & { data: Record<string, string> };
      expect(Object.keys(zones.data)).toEqual(['example.test.zone']);
      for (const [file, text] of Object.entries(zones.data)) {
        writeFileSync(join(dir, file), text);
        const result = await checkZoneFile(join(dir, file));
        expect(result.errors, file).toEqual([]);
        // The directory source names a zone after its file.
        expect(result).toMatchObject({ ok: true, origin: file.replace(/\.zone$/, '') });
      }
    });

    it('rolls the pods when the config changes, but not when a zone file does', () => {
      // kustomize names a generated ConfigMap after a hash of its content unless told not to:
      // a new name changes the pod template, which is a rollout.
      const volumes = new Map(spec.volumes!.map((v) => [v.name, v.configMap?.name]));
      const mountOf = (path: string) => volumes.get(container.volumeMounts!.find((m) => m.mountPath === path)!.name)!;
      const hashed = renders[name as keyof typeof renders].hashed;
      expect(hashed.has(mountOf(container.args![container.args!.indexOf('--config') + 1]!))).toBe(true);
      expect(hashed.has(mountOf(config.zones))).toBe(false);
    });

    it('probes /health and /ready on the ports the config file gives them', () => {
      const health = config.healthListen!.port;
      const ready = config.readyListen!.port;
      expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
      expect(containerPort(container, container.readinessProbe!.httpGet!.port)).toBe(ready);
      for (const probe of [container.livenessProbe, container.startupProbe]) {
        // /health stays 200 during lameduck and while etcd is away: liveness must not
        // restart a replica that is draining or serving its last data.
        expect(probe?.httpGet?.path).toBe('/health');
        expect(containerPort(container, probe!.httpGet!.port)).toBe(health);
      }
    });

    it('declares the DNS ports (UDP and TCP) and the ops ports of the config file', () => {
      const dns = config.listen[0]!.port;
      const ports = container.ports!.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).sort();
      expect(ports).toEqual(
        [`${dns}/UDP`, `${dns}/TCP`, `${config.healthListen!.port}/TCP`, `${config.readyListen!.port}/TCP`, `${config.metricsListen!.port}/TCP`].sort(),
      );
    });

    it('has a ClusterIP Service with port 53 UDP and TCP onto the DNS port, and metrics', () => {
      const service = find(objects, 'Service', 'etcdns') as K8sObject & {
        spec: { type: string; selector: Record<string, string>; ports: { port: number; targetPort: number | string; protocol?: string }[] };
      };
      expect(service.spec.type).toBe('ClusterIP');
      const labels = (find(objects, 'Deployment', 'etcdns').spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      expect(labels).toMatchObject(service.spec.selector);
      const target = (protocol: string, port: number) => {
        const p = service.spec.ports.find((x) => x.port === port && (x.protocol ?? 'TCP') === protocol);
        expect(p, `${port}/${protocol}`).toBeDefined();
        return containerPort(container, p!.targetPort, protocol);
      };
      expect(target('UDP', 53)).toBe(config.listen[0]!.port);
      expect(target('TCP', 53)).toBe(config.listen[0]!.port);
      expect(target('TCP', 9153)).toBe(config.metricsListen!.port);
    });

    it('gives a terminating pod time for the lameduck period and the TCP grace', () => {
      const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
      expect(config.lameduckMs).toBeGreaterThan(0);
      expect(grace).toBeGreaterThan(config.lameduckMs + TCP_GRACE_MS);
    });

    it('runs three replicas spread over nodes, with a disruption budget, and rolls one at a time', () => {
      const deployment = find(objects, 'Deployment', 'etcdns') as K8sObject & {
        spec: { replicas: number; strategy: { rollingUpdate: { maxUnavailable: number } }; selector: { matchLabels: Record<string, string> } };
      };
      expect(deployment.spec.replicas).toBe(3);
      expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      const spread = spec.topologySpreadConstraints!.find((t) => t.topologyKey === 'kubernetes.io/hostname')!;
      expect(spread.whenUnsatisfiable).toBe('ScheduleAnyway');
      expect(spread.labelSelector?.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
      const pdb = find(objects, 'PodDisruptionBudget', 'etcdns') as K8sObject & { spec: { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: Record<string, string> } } };
      expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable === 2).toBe(true);
    });

    it('runs the image as the Dockerfile’s non-root user, read-only, without privileges', () => {
      expect(container.image).toBe(`etcdns:${PACKAGE.version}`);
      expect(container.args).toEqual(['serve', '--config', '/etc/etcdns/etcdns.yaml']);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: dockerUser().uid, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // Requests for scheduling, a memory limit above them and above a full forwarding cache.
      const { requests, limits } = container.resources as { requests: Record<string, string>; limits: Record<string, string> };
      expect(quantity(requests.cpu!)).toBeGreaterThan(0);
      expect(quantity(limits.cpu ?? requests.cpu!)).toBeGreaterThanOrEqual(quantity(requests.cpu!));
      expect(quantity(limits.memory!)).toBeGreaterThanOrEqual(quantity(requests.memory!));
      expect(quantity(limits.memory!)).toBeGreaterThan(config.cacheBytes);
    });
  });

  describe('with-etcd', () => {
    const objects = rendered['with-etcd'];
    const sts = find(objects, 'StatefulSet', 'etcd') as K8sObject & {
      spec: { replicas: number; serviceName: string; podManagementPolicy: string; volumeClaimTemplates: unknown[]; template: { spec: PodSpec } };
    };
    const etcd = sts.spec.template.spec.containers[0]!;
    const flag = (name: string) => etcd.args!.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

    it('runs three members of an official etcd 3.5 image, started in parallel, with volumes', () => {
      expect(sts.spec.replicas).toBe(3);
      expect(etcd.image).toMatch(/^(quay\.io\/coreos\/etcd:v3\.5\.\d+|registry\.k8s\.io\/etcd:3\.5\.\d+-\d+)$/);
      expect(sts.spec.podManagementPolicy).toBe('Parallel');
      expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
      const headless = find(objects, 'Service', sts.spec.serviceName) as K8sObject & { spec: { clusterIP: string; publishNotReadyAddresses: boolean } };
      expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    });

    it('builds --initial-cluster from the stable pod names of the headless Service', () => {
      const peerPort = containerPort(etcd, 'peer');
      const members = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`);
      expect(flag('initial-cluster')).toBe(members.map((m) => `${m}=http://${m}.${sts.spec.serviceName}:${peerPort}`).join(','));
      expect(flag('initial-advertise-peer-urls')).toBe(`http://$(POD_NAME).${sts.spec.serviceName}:${peerPort}`);
    });

    it('points etcdns (through the Secret) at every member', () => {
      const clientPort = containerPort(etcd, 'client');
      const members = Array.from({ length: sts.spec.replicas }, (_, i) => `http://${sts.metadata.name}-${i}.${sts.spec.serviceName}:${clientPort}`);
      expect([...podConfig(objects).config.etcd]).toEqual(members);
    });
  });

  describe('NetworkPolicies', () => {
    type Policy = K8sObject & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { from?: { podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: unknown }[]; ports: { port: string; protocol: string }[] }[];
      };
    };
    /** Which ports each ingress rule opens, and to whom ('anyone' without a from). */
    const rules = (p: Policy) =>
      p.spec.ingress.map((r) => ({ ports: r.ports.map((x) => `${x.port}/${x.protocol}`).sort(), from: r.from ? r.from.map((f) => f.podSelector?.matchLabels['app.kubernetes.io/name'] ?? 'namespace') : 'anyone' }));

    it('base: DNS from anyone, /metrics from the monitoring namespace, /health and /ready from no pod', () => {
      const policy = find(rendered.base, 'NetworkPolicy', 'etcdns') as Policy;
      expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'etcdns' });
      expect(policy.spec.policyTypes).toEqual(['Ingress']);
      expect(rules(policy)).toEqual([
        { ports: ['dns-tcp/TCP', 'dns-udp/UDP'], from: 'anyone' },
        { ports: ['metrics/TCP'], from: ['namespace'] },
      ]);
      // The named ports are the container's, on the ports the config file serves.
      const container = podSpecOf(find(rendered.base, 'Deployment', 'etcdns'))!.containers[0]!;
      for (const rule of policy.spec.ingress) for (const p of rule.ports) expect(containerPort(container, p.port, p.protocol)).toBeGreaterThan(0);
      expect(JSON.stringify(policy)).not.toMatch(/"port":"(health|ready)"/);
    });

    it('with-etcd: etcd clients only etcdns and external-dns; peers only the members', () => {
      const policy = find(rendered['with-etcd'], 'NetworkPolicy', 'etcd') as Policy;
      expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'etcd' });
      expect(rules(policy)).toEqual([
        { ports: ['client/TCP'], from: ['etcdns', 'external-dns'] },
        { ports: ['client/TCP', 'metrics/TCP', 'peer/TCP'], from: ['etcd'] },
      ]);
      // And the overlay still has the base's policy for etcdns.
      expect(find(rendered['with-etcd'], 'NetworkPolicy', 'etcdns')).toBeDefined();
    });
  });

  describe('examples', () => {
    const pod = examples.find((e) => e.file === 'pod-dnsconfig.yaml')!.objects[0]!;
    const externalDns = examples.find((e) => e.file === 'external-dns.yaml')!.objects;

    it('a pod resolves through etcdns with dnsPolicy None and its own dnsConfig', () => {
      const spec = podSpecOf(pod)!;
      expect(spec.dnsPolicy).toBe('None');
      // One address, the etcdns Service's ClusterIP (a placeholder to replace).
      expect(spec.dnsConfig?.nameservers).toHaveLength(1);
      expect(isIP(spec.dnsConfig!.nameservers![0]!)).toBe(4);
    });

    it('external-dns writes CoreDNS-format records under our prefix, for our etcd zones, into the overlay’s etcd', () => {
      const { config } = podConfig(rendered['with-etcd']);
      const deployment = find(externalDns, 'Deployment', 'external-dns');
      const c = podSpecOf(deployment)!.containers[0]!;
      expect(c.args).toContain('--provider=coredns');
      expect(c.args).toContain(`--coredns-prefix=${config.etcdPrefix}/`);
      const filters = c.args!.filter((a) => a.startsWith('--domain-filter=')).map((a) => a.slice('--domain-filter='.length));
      // Exactly the zones etcdns answers from etcd.
      expect(filters).toEqual([...config.etcdZone]);
      // ETCD_URLS names the etcd client Service of k8s/with-etcd, in its namespace.
      const url = new URL(c.env!.find((e) => e.name === 'ETCD_URLS')!.value!);
      const client = find(rendered['with-etcd'], 'Service', 'etcd-client');
      expect(url.hostname).toBe(`${client.metadata.name}.${client.metadata.namespace}.svc`);
      expect(Number(url.port)).toBe((client.spec as { ports: { port: number }[] }).ports[0]!.port);
      const binding = find(externalDns, 'ClusterRoleBinding', 'external-dns') as K8sObject & { subjects: { name: string; namespace: string }[] };
      expect(binding.subjects[0]).toMatchObject({ name: 'external-dns', namespace: deployment.metadata.namespace });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The Dockerfile

const DOCKERFILE_TEXT = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerfile: Dockerfile = DockerfileParser.parse(DOCKERFILE_TEXT);

/** Instructions grouped by stage (one per FROM). */
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === 'FROM') out.push([]);
    out.at(-1)?.push(i);
  }
  return out;
}
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
/** An instruction's --flag=value (COPY --from, HEALTHCHECK --interval), which args() leaves out. */
const flagOf = (i: Instruction, name: string) =>
  i instanceof ModifiableInstruction ? (i.getFlags().find((f) => f.getName() === name)?.getValue() ?? undefined) : undefined;
const finalStage = () => stages().at(-1)!;
const last = (stage: Instruction[], keyword: string) => stage.filter((i) => i.getKeyword() === keyword).at(-1);

function dockerUser(): { uid: number; gid: number } {
  const user = last(finalStage(), 'USER');
  const m = /^(\d+)(?::(\d+))?$/.exec(user ? args(user).join(' ') : '');
  if (!m) throw new Error(`final stage USER ${user ? args(user).join(' ') : '(none)'} is not numeric`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

/** The JSON array of an exec-form instruction (ENTRYPOINT, CMD, HEALTHCHECK CMD). */
function execForm(i: Instruction): string[] {
  const raw = i.getRawArgumentsContent() ?? '';
  const start = raw.indexOf('[');
  expect(start, `${i.getKeyword()} in exec (JSON) form`).toBeGreaterThanOrEqual(0);
  return JSON.parse(raw.slice(start).replace(/\\\r?\n/g, '')) as string[];
}

const COMPILERS = /\b(gcc|g\+\+|clang|make|build-essential|python3?|node-gyp)\b/;

describe('Dockerfile', () => {
  it('builds in one stage and runs in another: official Node 22+ images of one Debian release, the final one slim', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const releases = new Set<string>();
    for (const [index, from] of froms.entries()) {
      // Docker Hub's official image: no registry, no user namespace.
      expect(from.getRegistry()).toBeNull();
      expect(from.getImageName()).toBe('node');
      // The build stage may be the full image (it compiles the native addon); the image that
      // runs is slim. Both on the same release, so that what the first builds links in the last.
      const tag = /^(\d+)(?:\.\d+)*-([a-z]+)(-slim)?$/.exec(from.getImageTag() ?? '');
      expect(tag, `FROM ${from.getImage()}: a pinned major and a Debian release`).not.toBeNull();
      expect(Number(tag![1])).toBeGreaterThanOrEqual(22);
      if (index === froms.length - 1) expect(tag![3], `FROM ${from.getImage()}: the final stage is slim`).toBe('-slim');
      releases.add(tag![2]!);
    }
    expect([...releases]).toHaveLength(1);
    // The final stage copies its build from the first, by name.
    const buildStage = froms[0]!.getBuildStage();
    expect(buildStage).not.toBeNull();
    expect(finalStage().some((i) => i.getKeyword() === 'COPY' && flagOf(i, 'from') === buildStage)).toBe(true);
  });

  it('runs as a numeric non-root user, with production settings and no compilers', () => {
    const { uid, gid } = dockerUser();
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    expect(finalStage().filter((i) => i.getKeyword() === 'ENV').flatMap(args)).toContain('NODE_ENV=production');
    for (const i of finalStage().filter((x) => x.getKeyword() === 'RUN')) {
      expect(i.getRawArgumentsContent(), 'a compiler installed in the final stage').not.toMatch(COMPILERS);
    }
    // The build stage must not set NODE_ENV=production: npm ci would then skip TypeScript.
    expect(stages()[0]!.filter((i) => i.getKeyword() === 'ENV').flatMap(args)).not.toContain('NODE_ENV=production');
  });

  it('exposes the DNS port over UDP and TCP and the ops ports of the CMD', () => {
    const cmd = execForm(last(finalStage(), 'CMD')!);
    const portOf = (flag: string) => Number(/:(\d+)$/.exec(cmd[cmd.indexOf(flag) + 1]!)![1]);
    const exposed = finalStage().filter((i) => i.getKeyword() === 'EXPOSE').flatMap(args).map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`));
    const dns = portOf('--listen');
    expect(exposed.sort()).toEqual([`${dns}/udp`, `${dns}/tcp`, `${portOf('--health-listen')}/tcp`, `${portOf('--ready-listen')}/tcp`, `${portOf('--metrics-listen')}/tcp`].sort());
    // The Kubernetes Deployment declares the same ports.
    const container = podSpecOf(find(rendered.base, 'Deployment', 'etcdns'))!.containers[0]!;
    expect(container.ports!.map((p) => `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`).sort()).toEqual(exposed.sort());
  });

  it('starts node on the CLI directly, stops it with SIGTERM and checks /health with node itself', () => {
    // With the Node flags the etcdns bin's shebang gives (src/cli/main.ts), as `npm start` does.
    const shebang = readFileSync(join(REPO_ROOT, 'src/cli/main.ts'), 'utf8').split('\n', 1)[0]!;
    const flags = /^#!\/usr\/bin\/env -S node (.+)$/.exec(shebang)![1]!.split(' ');
    expect(flags).toContain('--no-parallel-scavenge');
    expect(execForm(last(finalStage(), 'ENTRYPOINT')!)).toEqual(['node', ...flags, '/app/dist/cli/main.js']);
    expect((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start).toBe(`node ${flags.join(' ')} dist/cli/main.js serve`);
    expect(execForm(last(finalStage(), 'CMD')!)[0]).toBe('serve');
    expect(args(last(finalStage(), 'STOPSIGNAL')!)).toEqual(['SIGTERM']);
    const health = last(finalStage(), 'HEALTHCHECK')!;
    const command = execForm(health);
    expect(command[0]).toBe('node');
    const cmd = execForm(last(finalStage(), 'CMD')!);
    const healthPort = /:(\d+)$/.exec(cmd[cmd.indexOf('--health-listen') + 1]!)![1];
    expect(command.join(' ')).toContain(`http://127.0.0.1:${healthPort}/health`);
  });

  it('.dockerignore keeps the host’s node_modules, dist and .git out of the build context', () => {
    const patterns = dockerignore();
    for (const path of ['node_modules', 'node_modules/x/index.js', 'dist/cli/main.js', '.git/HEAD']) expect(ignored(path, patterns), path).toBe(true);
    for (const path of ['package.json', 'package-lock.json', 'src/app.ts', 'zones/example.test.zone', 'tsconfig.build.json']) expect(ignored(path, patterns), path).toBe(false);
  });

  // Replays the Dockerfile in temporary directories: a slow test (npm ci and tsc, ~1 min).
  it(
    'builds and runs for real: the production stage answers dig, passes its HEALTHCHECK and exits 0 on SIGTERM',
    async () => {
      const context = buildContext();
      const built = await replay(context);
      const entrypoint = execForm(last(finalStage(), 'ENTRYPOINT')!);
      const cmd = execForm(last(finalStage(), 'CMD')!);
      // Listen on all interfaces in a container: 0.0.0.0 in the CMD, loopback and a free port here.
      expect(cmd.filter((a) => /^0\.0\.0\.0:\d+$/.test(a))).toHaveLength(4);
      const argv = [...entrypoint, ...cmd].map((a) => (/^0\.0\.0\.0:\d+$/.test(a) ? '127.0.0.1:0' : built.path(a)));

      const image = spawnAsImageUser(argv, built.cwd, { ...built.env, ETCDNS_LAMEDUCK: '1s' });
      try {
        const listening = await image.waitFor((l) => l.msg === 'listening');
        // The build stage compiled the native UDP addon and the final stage has it.
        expect(listening.udpIo).toBe('batch');
        const port = Number(/:(\d+)$/.exec((listening.addresses as string[])[0]!)![1]);
        const r = await dig(port, ['www.example.test', 'A']);
        expect(r.status).toBe('NOERROR');
        expect(r.answer.map((a) => a.data)).toEqual(['192.0.2.10']);

        // The image's own HEALTHCHECK command, pointed at the port this run got.
        const health = execForm(last(finalStage(), 'HEALTHCHECK')!).map((a) => a.replace(/127\.0\.0\.1:\d+/, new URL(listening.health as string).host));
        const check = spawnAsImageUser(health, built.cwd, built.env);
        expect(await check.exited).toBe(0);
        expect((await fetch(`${listening.ready as string}/ready`)).status).toBe(200);

        // STOPSIGNAL: lameduck (503 at once, DNS still answered), then a clean exit.
        process.kill(image.pid, args(last(finalStage(), 'STOPSIGNAL')!)[0] as NodeJS.Signals);
        await image.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('draining for '));
        expect((await fetch(`${listening.ready as string}/ready`)).status).toBe(503);
        expect((await dig(port, ['www.example.test', 'A'])).answer).toHaveLength(1);
        expect(await image.exited).toBe(0);
      } finally {
        image.kill();
      }
    },
    300_000,
  );
});

function dockerignore(): string[] {
  return readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Docker's matching, for the patterns we use: globs without "!" exceptions. */
function ignored(path: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (pattern.startsWith('!')) throw new Error('.dockerignore exceptions are not supported by this test');
    const source = pattern
      .replace(/^\/+|\/+$/g, '')
      .split(/(\*\*\/|\*|\?)/)
      .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    // A pattern that matches a directory excludes everything below it.
    return new RegExp(`^${source}(?:/.*)?$`).test(path);
  });
}

/** What `docker build .` would send: the files git knows (tracked or not ignored), less .dockerignore. */
function buildContext(): string {
  const dir = tempDir('etcdns-context-');
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const patterns = dockerignore();
  for (const file of listed.split('\0')) {
    if (file === '' || ignored(file, patterns) || !existsSync(join(REPO_ROOT, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(dir, file));
  }
  return dir;
}

interface Built {
  /** The final stage's working directory, on the host. */
  cwd: string;
  /** The final stage's ENV. */
  env: Record<string, string>;
  /** An absolute path inside the image, on the host (other arguments unchanged). */
  path(arg: string): string;
}

/**
 * Runs FROM, WORKDIR, ENV, COPY and RUN as docker build would, each stage in a directory of
 * its own standing in for the image's file system. The base image's own files (node, npm)
 * are the host's.
 */
async function replay(context: string): Promise<Built> {
  const roots = new Map<string, string>();
  let root = '';
  let workdir = '/';
  let env: Record<string, string> = {};
  for (const i of dockerfile.getInstructions()) {
    const keyword = i.getKeyword();
    const a = args(i);
    if (keyword === 'FROM') {
      root = tempDir('etcdns-stage-');
      chmodSync(root, 0o755);
      workdir = '/';
      env = {};
      const name = dockerfile.getFROMs().find((f) => f.getRange().start.line === i.getRange().start.line)!.getBuildStage();
      if (name) roots.set(name, root);
    } else if (keyword === 'WORKDIR') {
      workdir = resolve(workdir, a[0]!);
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (keyword === 'ENV') {
      for (const pair of a) {
        const eq = pair.indexOf('=');
        if (eq < 0) throw new Error(`ENV ${pair}: only KEY=VALUE is supported by this test`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    } else if (keyword === 'COPY') {
      const paths = [...a];
      const from = flagOf(i, 'from');
      const sourceRoot = from === undefined ? context : roots.get(from);
      if (sourceRoot === undefined) throw new Error(`COPY --from=${from}: no such stage`);
      const dest = paths.pop()!;
      const destPath = join(root, resolve(workdir, dest));
      const intoDir = dest.endsWith('/') || paths.length > 1;
      for (const source of paths) {
        if (/[*?[]/.test(source)) throw new Error(`COPY ${source}: wildcards are not supported by this test`);
        const sourcePath = join(sourceRoot, from === undefined ? source : resolve('/', source));
        if (!existsSync(sourcePath)) throw new Error(`COPY ${source}: not in the ${from === undefined ? 'build context' : `stage ${from}`}`);
        // A directory's contents go into the destination; a file goes into it, or becomes it.
        const target = statSync(sourcePath).isDirectory() || !intoDir ? destPath : join(destPath, basename(source));
        mkdirSync(statSync(sourcePath).isDirectory() ? target : dirname(target), { recursive: true });
        cpSync(sourcePath, target, { recursive: true });
      }
    } else if (keyword === 'RUN') {
      const command = i.getRawArgumentsContent()!;
      await run('sh', ['-c', command], { cwd: join(root, workdir), env: { ...buildEnv(), ...env }, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }).catch((error: Error & { stderr?: string }) => {
        throw new Error(`RUN ${command} failed: ${error.message}\n${error.stderr ?? ''}`);
      });
    } else if (keyword === 'ARG' || keyword === 'LABEL') {
      throw new Error(`${keyword} is not supported by this test's replay`);
    }
    // USER, EXPOSE, HEALTHCHECK, STOPSIGNAL, ENTRYPOINT, CMD: metadata, read by the test.
  }
  const finalRoot = root;
  return {
    cwd: join(finalRoot, workdir),
    env,
    path: (arg) => (arg.startsWith('/') && existsSync(join(finalRoot, arg)) ? join(finalRoot, arg) : arg),
  };
}

/** The host's environment for build steps, less what npm and vitest set for this test run. */
function buildEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(cleanEnv()).filter(([k]) => !/^(npm_(lifecycle|package|command|node_execpath)|NODE_ENV$|INIT_CWD$|VITEST)/i.test(k)),
  );
}

/**
 * Runs a command as the image would: the Dockerfile's USER (when this test runs as root), a
 * bare environment (PATH, HOME and the image's ENV), JSON log lines collected.
 */
function spawnAsImageUser(argv: readonly string[], cwd: string, env: Record<string, string>) {
  const { uid, gid } = dockerUser();
  const asUser = process.getuid?.() === 0 ? { uid, gid } : {};
  const child = spawn(argv[0] === 'node' ? process.execPath : argv[0]!, argv.slice(1), {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asUser,
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  onLogLine(child.stdout!, (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) (w.match(line) ? w.resolve(line) : waiters.push(w));
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    pid: child.pid!,
    exited,
    waitFor(match: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such log line in ${timeoutMs} ms; stderr: ${stderr}; logs: ${JSON.stringify(lines.slice(-5))}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolvePromise(l)) });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`exited (${code}) first; stderr: ${stderr}; logs: ${JSON.stringify(lines.slice(-5))}`));
        });
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    },
  };
}
