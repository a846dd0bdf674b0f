import { defineRule } from '../../../core/rule.js';
import { mlServiceOf } from '../ml-services.js';
import type { ConfigDomain, ConfigFile, ConfigReport } from '../types.js';
import { entries, get, getPath, isTruthy, items, parseYamlDocuments, scalar, str, type YValue } from '../yaml.js';

/**
 * Kubernetes objects (plain manifests, Kustomize output, Helm-rendered YAML, and operator resources such as
 * RayCluster, PyTorchJob, Notebook or InferenceService: any map with a `containers` list is read as a pod
 * spec) and Helm values files (the same settings, wherever they sit in the values tree).
 */

const noCheck = (): undefined => undefined;

export const k8sPrivilegedRule = defineRule<'privileged' | 'escalation' | 'capability', void>({
  id: 'config/k8s-privileged',
  title: 'A container can take over its node',
  description: 'A privileged container, one allowed to escalate privileges, or one with SYS_ADMIN/ALL capabilities gives anything that compromises it — a malicious model file, a dependency — control of the node and its other workloads.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:250', 'cwe:269'],
  remediation: 'Remove `privileged` and extra capabilities (GPU access needs the device plugin, not privileged mode); set `allowPrivilegeEscalation: false` and `capabilities: {drop: [ALL]}`.',
  messages: {
    privileged: 'Container {{container}} runs privileged.',
    escalation: 'Container {{container}} allows privilege escalation.',
    capability: 'Container {{container}} adds capability {{capability}}.',
  },
  check: noCheck,
});

export const k8sRootRule = defineRule<'root' | 'notNonRoot', void>({
  id: 'config/k8s-runs-as-root',
  title: 'A container runs as root',
  description: 'With `runAsUser: 0`, or without `runAsNonRoot: true`, the container\'s processes run as root unless the image says otherwise; a compromise then owns the container and is one kernel bug from the node.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['cwe:250'],
  remediation: 'Set `securityContext: {runAsNonRoot: true, runAsUser: <uid>}` on the pod or each container.',
  messages: {
    root: 'Container {{container}} runs as user 0 (root).',
    notNonRoot: 'Container {{container}} does not require a non-root user (no runAsNonRoot: true).',
  },
  check: noCheck,
});

export const k8sHostRule = defineRule<'namespace' | 'hostPath', void>({
  id: 'config/k8s-host-access',
  title: 'A pod shares the node\'s namespaces or file system',
  description: '`hostNetwork`, `hostPID` and `hostIPC` put the pod in the node\'s namespaces; a `hostPath` volume mounts the node\'s files (the container runtime socket, kubelet credentials, other pods\' data).',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:668'],
  remediation: 'Drop host namespaces; replace hostPath with persistent volumes, CSI drivers or emptyDir.',
  messages: {
    namespace: 'The pod uses the node\'s {{what}}.',
    hostPath: 'Volume {{volume}} mounts {{path}} from the node.',
  },
  check: noCheck,
});

export const k8sSecretEnvRule = defineRule<'literal', void>({
  id: 'config/k8s-secret-env',
  title: 'A credential is written into a manifest',
  description: 'An `env` entry with a credential-like name has a literal `value`: it is committed with the manifest, readable by anyone who can read the workload object, and not rotated with your secrets.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:798'],
  remediation: 'Reference a Secret (`valueFrom: {secretKeyRef: …}`), ideally synced from a secret manager (External Secrets, CSI secrets store).',
  messages: { literal: 'Container {{container}} sets {{name}} to a literal value.' },
  check: noCheck,
});

export const k8sLimitsRule = defineRule<'missing', void>({
  id: 'config/k8s-no-resource-limits',
  title: 'A container has no resource limits',
  description: 'Without CPU and memory limits, one runaway or hostile workload (a decompression bomb in a model file, a crypto-miner) starves everything else on the node.',
  severity: 'low',
  confidence: 'high',
  tags: ['cwe:770'],
  remediation: 'Set `resources.limits.memory` and `resources.limits.cpu` (and requests) on every container, or a LimitRange in the namespace.',
  messages: { missing: 'Container {{container}} sets no {{what}} limit.' },
  check: noCheck,
});

export const k8sExposedRule = defineRule<'service' | 'ingress' | 'rayHead', void>({
  id: 'config/k8s-ml-service-exposed',
  title: 'An ML service is exposed outside the cluster without authentication',
  description:
    'A LoadBalancer or NodePort Service, or an Ingress without an authentication annotation, publishes a Jupyter, MLflow, ' +
    'Ray, TorchServe or model-server port outside the cluster. These services have no authentication of their own (or ' +
    'run code by design), and are scanned for continuously.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:306', 'owasp-ml:ML05'],
  remediation: 'Keep the Service ClusterIP and put an authenticating proxy or an Ingress with authentication (oauth2-proxy, `nginx.ingress.kubernetes.io/auth-url`) in front.',
  messages: {
    service: 'Service {{name}} ({{type}}) exposes {{service}} port {{port}} outside the cluster.',
    ingress: 'Ingress {{name}} routes to {{service}} ({{backend}}) with no authentication annotation.',
    rayHead: 'RayCluster {{name}} exposes its head (dashboard and Jobs API: remote code execution by design) through {{how}}.',
  },
  check: noCheck,
});

export const k8sNetworkPolicyRule = defineRule<'noDefaultDeny', void>({
  id: 'config/k8s-no-default-deny',
  title: 'An ML namespace has no default-deny NetworkPolicy',
  description: 'Without a NetworkPolicy that selects every pod, any pod in the cluster can reach the notebooks, training jobs, Ray heads and model servers in this namespace — including their unauthenticated APIs.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['cwe:923', 'owasp-ml:ML05'],
  remediation: 'Add a NetworkPolicy with `podSelector: {}` and `policyTypes: [Ingress]` (and Egress where you can), then allow the flows the workloads need.',
  messages: { noDefaultDeny: 'Namespace {{namespace}} has no default-deny NetworkPolicy in these manifests.' },
  check: noCheck,
});

const SECRET_NAME = /(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?:$|_)/i;
const NOT_SECRET_NAME = /(?:_FILE|_PATH|_DIR|_URL|_URI|_HOST|_PORT|_ID|_NAME|_TYPE|TOKENIZER\w*|_LENGTH|_TIMEOUT)$/i;
const ML_NAMESPACE = /(?:^|-)(?:train\w*|serv\w*|infer\w*|model\w*|ml|mlops|notebooks?|jupyter\w*|ray|kubeflow|mlflow|llm\w*|gpu|ai)(?:-|$)/;
const AUTH_ANNOTATION = /(?:auth-url|auth-type|auth-signin|auth-secret|oauth|\/auth\b|middlewares|authenticat)/i;

interface PodSpec {
  spec: YValue;
  /** The workload object's kind and name, for messages. */
  owner: string;
}

/** Every map that holds a `containers` list of maps with an `image` is a pod spec (works for CRDs too). */
function podSpecs(node: YValue | undefined, owner: string, out: PodSpec[], depth = 0): PodSpec[] {
  if (!node || depth > 40) return out;
  if (node.type === 'map') {
    const containers = get(node, 'containers');
    if (containers?.type === 'seq' && containers.items.some((c) => get(c, 'image') !== undefined || get(c, 'name') !== undefined)) out.push({ spec: node, owner });
    for (const e of node.entries) if (e.key !== 'containers' && e.key !== 'initContainers') podSpecs(e.value, owner, out, depth + 1);
  } else if (node.type === 'seq') for (const item of node.items) podSpecs(item, owner, out, depth + 1);
  return out;
}

function at(file: ConfigFile, node: { line: number; column: number }): { line: number; column: number; evidence: string } {
  return { line: node.line, column: node.column, evidence: file.lineText(node.line).slice(0, 200) };
}

function checkPod(file: ConfigFile, pod: PodSpec, report: ConfigReport): void {
  const spec = pod.spec;
  for (const what of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    const value = get(spec, what);
    if (value && isTruthy(value)) report(k8sHostRule, { message: 'namespace', data: { what: what.replace('host', 'host ') }, ...at(file, value), key: `${pod.owner}:${what}` });
  }
  for (const volume of items(get(spec, 'volumes'))) {
    const hostPath = get(volume, 'hostPath');
    if (!hostPath) continue;
    const path = str(get(hostPath, 'path')) ?? '?';
    report(k8sHostRule, { message: 'hostPath', data: { volume: str(get(volume, 'name')) ?? '?', path }, ...at(file, hostPath), ...(/docker\.sock|containerd\.sock|crio\.sock|^\/$|^\/etc|^\/var\/lib\/kubelet|^\/root/.test(path) ? {} : { severity: 'medium' as const }), key: `${pod.owner}:hostPath:${path}` });
  }
  const podContext = get(spec, 'securityContext');
  const podUser = scalar(get(podContext, 'runAsUser'));
  const podNonRoot = isTruthy(get(podContext, 'runAsNonRoot'));
  for (const container of [...items(get(spec, 'containers')), ...items(get(spec, 'initContainers'))]) {
    const name = str(get(container, 'name')) ?? '?';
    const context = get(container, 'securityContext');
    const label = `${pod.owner}/${name}`;
    const privileged = get(context, 'privileged');
    if (privileged && isTruthy(privileged)) report(k8sPrivilegedRule, { message: 'privileged', data: { container: name }, ...at(file, privileged), key: `${label}:privileged` });
    const escalation = get(context, 'allowPrivilegeEscalation');
    if (escalation && isTruthy(escalation)) report(k8sPrivilegedRule, { message: 'escalation', data: { container: name }, ...at(file, escalation), severity: 'medium', key: `${label}:escalation` });
    for (const cap of items(getPath(context, ['capabilities', 'add']))) {
      const capability = str(cap)?.toUpperCase().replace(/^CAP_/, '');
      if (capability === 'ALL' || capability === 'SYS_ADMIN' || capability === 'SYS_PTRACE' || capability === 'SYS_MODULE' || capability === 'NET_ADMIN') report(k8sPrivilegedRule, { message: 'capability', data: { container: name, capability }, ...at(file, cap), severity: 'medium', key: `${label}:${capability}` });
    }
    const userNode = get(context, 'runAsUser');
    const user = scalar(userNode) ?? podUser;
    const nonRoot = isTruthy(get(context, 'runAsNonRoot')) || (podNonRoot && get(context, 'runAsNonRoot') === undefined);
    if (user === 0 || user === '0') report(k8sRootRule, { message: 'root', data: { container: name }, ...at(file, userNode ?? get(podContext, 'runAsUser') ?? container), key: `${label}:root` });
    else if (!nonRoot && (user === undefined || user === null)) report(k8sRootRule, { message: 'notNonRoot', data: { container: name }, ...at(file, get(container, 'name') ?? container), key: `${label}:nonroot` });
    const limits = getPath(container, ['resources', 'limits']);
    const missing = ['memory', 'cpu'].filter((k) => get(limits, k) === undefined);
    if (missing.length > 0) report(k8sLimitsRule, { message: 'missing', data: { container: name, what: missing.join(' or ') }, ...at(file, get(container, 'name') ?? container), key: `${label}:limits` });
    for (const env of items(get(container, 'env'))) {
      const envName = str(get(env, 'name'));
      const value = get(env, 'value');
      const text = str(value);
      if (!envName || text === undefined || text === '' || !SECRET_NAME.test(envName) || NOT_SECRET_NAME.test(envName) || /^\$\(/.test(text)) continue;
      report(k8sSecretEnvRule, { message: 'literal', data: { container: name, name: envName }, line: value!.line, column: value!.column, secret: text, key: `${label}:${envName}` });
    }
  }
}

interface K8sObject {
  kind: string;
  name: string;
  namespace?: string;
  root: YValue;
}

function objectsOf(docs: readonly { root?: YValue }[]): K8sObject[] {
  const out: K8sObject[] = [];
  const add = (root: YValue | undefined): void => {
    const kind = str(get(root, 'kind'));
    if (!root || !kind) return;
    if (kind === 'List') {
      for (const item of items(get(root, 'items'))) add(item);
      return;
    }
    const namespace = str(getPath(root, ['metadata', 'namespace']));
    out.push({ kind, name: str(getPath(root, ['metadata', 'name'])) ?? '?', ...(namespace === undefined ? {} : { namespace }), root });
  };
  for (const doc of docs) add(doc.root);
  return out;
}

/** NetworkPolicies in this file and in the YAML files beside it (manifests of one namespace often share a folder). */
function defaultDenyNamespaces(file: ConfigFile, objects: readonly K8sObject[]): Set<string> {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  for (const name of file.siblingNames()) {
    if (!/\.ya?ml$/i.test(name)) continue;
    const text = file.sibling(name);
    if (!text || !/kind:\s*NetworkPolicy/.test(text)) continue;
    policies.push(...objectsOf(parseYamlDocuments(text)).filter((o) => o.kind === 'NetworkPolicy'));
  }
  const namespaces = new Set<string>();
  for (const policy of policies) {
    const selector = getPath(policy.root, ['spec', 'podSelector']);
    const selectsAll = selector !== undefined && entries(selector).every((e) => e.value.type === 'map' ? e.value.entries.length === 0 : true);
    if (selectsAll) namespaces.add(policy.namespace ?? 'default');
  }
  return namespaces;
}

function checkKubernetes(file: ConfigFile, report: ConfigReport): void {
  const objects = objectsOf(file.yaml ?? []);
  const images = new Map<string, string[]>();
  for (const object of objects) {
    const pods = podSpecs(get(object.root, 'spec'), `${object.kind}/${object.name}`, []);
    for (const pod of pods) checkPod(file, pod, report);
    const labels = getPath(object.root, ['spec', 'template', 'metadata', 'labels']) ?? getPath(object.root, ['metadata', 'labels']);
    const podImages = pods.flatMap((p) => items(get(p.spec, 'containers')).map((c) => str(get(c, 'image')) ?? ''));
    for (const { key, value } of entries(labels)) images.set(`${key}=${str(value)}`, [...(images.get(`${key}=${str(value)}`) ?? []), ...podImages]);
  }
  const services = new Map<string, { port: number; service: string }[]>();
  for (const object of objects.filter((o) => o.kind === 'Service')) {
    const type = str(getPath(object.root, ['spec', 'type'])) ?? 'ClusterIP';
    const selected = entries(getPath(object.root, ['spec', 'selector'])).flatMap((e) => images.get(`${e.key}=${str(e.value)}`) ?? []);
    const ml: { port: number; service: string }[] = [];
    for (const port of items(getPath(object.root, ['spec', 'ports']))) {
      const number = Number(scalar(get(port, 'targetPort')) ?? scalar(get(port, 'port')));
      const service = mlServiceOf(Number.isFinite(number) ? number : undefined, selected.find((i) => mlServiceOf(undefined, i)) ?? undefined) ?? mlServiceOf(Number(scalar(get(port, 'port'))), undefined);
      if (!service) continue;
      ml.push({ port: Number(scalar(get(port, 'port'))), service: service.service });
      if (type === 'LoadBalancer' || type === 'NodePort') report(k8sExposedRule, { message: 'service', data: { name: object.name, type, service: service.service, port: String(scalar(get(port, 'port'))) }, ...at(file, get(port, 'port') ?? port), ...(service.critical ? {} : { severity: 'medium' as const }), key: `${object.name}:${String(scalar(get(port, 'port')))}` });
    }
    services.set(object.name, ml);
  }
  for (const object of objects.filter((o) => o.kind === 'Ingress')) {
    const annotations = entries(getPath(object.root, ['metadata', 'annotations']));
    if (annotations.some((a) => AUTH_ANNOTATION.test(a.key))) continue;
    const backends: YValue[] = [];
    const collect = (node: YValue | undefined, depth: number): void => {
      if (!node || depth > 20) return;
      if (node.type === 'map') {
        const service = get(node, 'service');
        if (service && get(service, 'name')) backends.push(service);
        const legacy = get(node, 'serviceName');
        if (legacy) backends.push(node);
        for (const e of node.entries) collect(e.value, depth + 1);
      } else if (node.type === 'seq') for (const i of node.items) collect(i, depth + 1);
    };
    collect(get(object.root, 'spec'), 0);
    for (const backend of backends) {
      const name = str(get(backend, 'name')) ?? str(get(backend, 'serviceName')) ?? '?';
      const portNumber = Number(scalar(getPath(backend, ['port', 'number'])) ?? scalar(get(backend, 'servicePort')));
      const known = services.get(name)?.find((s) => !Number.isFinite(portNumber) || s.port === portNumber);
      const service = known?.service ?? mlServiceOf(Number.isFinite(portNumber) ? portNumber : undefined, undefined)?.service;
      if (!service) continue;
      report(k8sExposedRule, { message: 'ingress', data: { name: object.name, service, backend: `${name}:${Number.isFinite(portNumber) ? portNumber : '?'}` }, ...at(file, backend), key: `${object.name}:${name}` });
    }
  }
  for (const object of objects.filter((o) => o.kind === 'RayCluster' || o.kind === 'RayService' || o.kind === 'RayJob')) {
    const head = object.kind === 'RayCluster' ? getPath(object.root, ['spec', 'headGroupSpec']) : object.kind === 'RayService' ? getPath(object.root, ['spec', 'rayClusterConfig', 'headGroupSpec']) : getPath(object.root, ['spec', 'rayClusterSpec', 'headGroupSpec']);
    const serviceType = get(head, 'serviceType');
    const ingress = get(head, 'enableIngress');
    if (str(serviceType) === 'LoadBalancer' || str(serviceType) === 'NodePort') report(k8sExposedRule, { message: 'rayHead', data: { name: object.name, how: `a ${str(serviceType)} head service` }, ...at(file, serviceType!), severity: 'critical', key: `${object.name}:ray` });
    else if (ingress && isTruthy(ingress)) report(k8sExposedRule, { message: 'rayHead', data: { name: object.name, how: 'enableIngress' }, ...at(file, ingress), key: `${object.name}:ray` });
  }
  const declared = objects.filter((o) => o.kind === 'Namespace' && ML_NAMESPACE.test(o.name));
  if (declared.length > 0) {
    const denied = defaultDenyNamespaces(file, objects);
    for (const namespace of declared) {
      if (denied.has(namespace.name)) continue;
      report(k8sNetworkPolicyRule, { message: 'noDefaultDeny', data: { namespace: namespace.name }, ...at(file, get(namespace.root, 'kind') ?? namespace.root), key: namespace.name });
    }
  }
}

/** Helm values: the same settings wherever the chart puts them (`securityContext`, `hostNetwork`, `service.type`, `env`). */
function checkHelmValues(file: ConfigFile, report: ConfigReport): void {
  const walk = (node: YValue | undefined, path: string[], depth: number): void => {
    if (!node || depth > 40) return;
    if (node.type === 'seq') {
      node.items.forEach((item) => walk(item, path, depth + 1));
      return;
    }
    if (node.type !== 'map') return;
    const container = path.join('.') || 'values';
    for (const { key, value } of node.entries) {
      const here = [...path, key];
      if (key === 'privileged' && isTruthy(value)) report(k8sPrivilegedRule, { message: 'privileged', data: { container }, ...at(file, value), key: here.join('.') });
      else if (key === 'allowPrivilegeEscalation' && isTruthy(value)) report(k8sPrivilegedRule, { message: 'escalation', data: { container }, ...at(file, value), severity: 'medium', key: here.join('.') });
      else if ((key === 'hostNetwork' || key === 'hostPID' || key === 'hostIPC') && isTruthy(value)) report(k8sHostRule, { message: 'namespace', data: { what: key.replace('host', 'host ') }, ...at(file, value), key: here.join('.') });
      else if (key === 'runAsUser' && (scalar(value) === 0 || scalar(value) === '0')) report(k8sRootRule, { message: 'root', data: { container }, ...at(file, value), key: here.join('.') });
      else if (key === 'type' && (str(value) === 'LoadBalancer' || str(value) === 'NodePort') && /service/i.test(path[path.length - 1] ?? '')) {
        const port = Number(scalar(get(node, 'port')) ?? scalar(get(node, 'targetPort')));
        const ml = mlServiceOf(Number.isFinite(port) ? port : undefined, undefined);
        if (ml) report(k8sExposedRule, { message: 'service', data: { name: container, type: str(value)!, service: ml.service, port: String(port) }, ...at(file, value), key: here.join('.') });
      } else walk(value, here, depth + 1);
    }
  };
  for (const doc of file.yaml ?? []) walk(doc.root, [], 0);
}

export const kubernetesDomain: ConfigDomain = {
  name: 'kubernetes',
  kinds: ['kubernetes', 'helm-values'],
  rules: [k8sExposedRule, k8sHostRule, k8sLimitsRule, k8sNetworkPolicyRule, k8sPrivilegedRule, k8sRootRule, k8sSecretEnvRule],
  check: (file, report) => (file.kind === 'helm-values' ? checkHelmValues(file, report) : checkKubernetes(file, report)),
};
