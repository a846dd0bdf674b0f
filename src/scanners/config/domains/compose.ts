import { defineRule } from '../../../core/rule.js';
import { mlServiceOf } from '../ml-services.js';
import type { ConfigDomain, ConfigFile, ConfigReport } from '../types.js';
import { entries, get, isTruthy, items, str, type YValue } from '../yaml.js';

const noCheck = (): undefined => undefined;

export const composePortRule = defineRule<'public', void>({
  id: 'config/compose-ml-port-public',
  title: 'An ML service port is published on every interface',
  description:
    'A Compose port mapping without a host address (`"8888:8888"`) publishes the port on 0.0.0.0 — and Docker\'s ' +
    'iptables rules bypass host firewalls such as ufw. For Jupyter, MLflow, Ray, TorchServe management or Ollama, ' +
    'that is unauthenticated code execution or model access from the network.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:306', 'owasp-ml:ML05'],
  remediation: 'Publish on loopback (`"127.0.0.1:8888:8888"`) or not at all (reach the service through the Compose network or an authenticating proxy).',
  messages: { public: 'Service {{name}} publishes {{service}} port {{port}} on every interface ({{mapping}}).' },
  check: noCheck,
});

export const composePrivilegeRule = defineRule<'privileged' | 'dockerSocket' | 'hostNamespace' | 'capability', void>({
  id: 'config/compose-privileged',
  title: 'A Compose service can take over the host',
  description: '`privileged: true`, a mounted Docker socket, host namespaces or broad capabilities let anything that compromises the container — a malicious model file, a notebook, a dependency — control the host.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:250', 'cwe:269'],
  remediation: 'Drop `privileged`, the socket mount and host namespaces; for GPUs use `deploy.resources.reservations.devices` instead of privileged mode; add only the capabilities a service needs.',
  messages: {
    privileged: 'Service {{name}} runs privileged: full access to the host\'s devices and kernel.',
    dockerSocket: 'Service {{name}} mounts the Docker socket ({{volume}}): root on the host.',
    hostNamespace: 'Service {{name}} shares the host\'s {{namespace}} namespace.',
    capability: 'Service {{name}} adds capability {{capability}}.',
  },
  check: noCheck,
});

export const composeSecretRule = defineRule<'literal', void>({
  id: 'config/compose-secret-env',
  title: 'A credential is written into a Compose file',
  description: 'An `environment` entry with a credential-like name has a literal value: it is committed with the file, visible in `docker inspect` and to every process in the container.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:798'],
  remediation: 'Use Compose `secrets:` (files mounted under /run/secrets) or variable substitution from an untracked `.env` (`${HF_TOKEN}`).',
  messages: { literal: 'Service {{name}} sets {{key}} to a literal value.' },
  check: noCheck,
});

const SECRET_NAME = /(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?:$|_)/i;
const NOT_SECRET_NAME = /(?:_FILE|_PATH|_DIR|_URL|_URI|_HOST|_PORT|_ID|_NAME|_TYPE|TOKENIZER\w*|_LENGTH|_TIMEOUT)$/i;

interface PortMapping {
  hostIp?: string;
  published?: string;
  target?: number;
  text: string;
}

/** Short syntax `[host_ip:][published:]target[/proto]` (IPv6 host in brackets) or the long syntax map. */
function portMappings(node: YValue): PortMapping[] {
  const out: PortMapping[] = [];
  for (const item of items(node)) {
    if (item.type === 'map') {
      const target = Number(str(get(item, 'target')));
      const hostIp = str(get(item, 'host_ip'));
      const published = str(get(item, 'published'));
      out.push({ ...(hostIp === undefined ? {} : { hostIp }), ...(published === undefined ? {} : { published }), ...(Number.isFinite(target) ? { target } : {}), text: `target ${target}` });
      continue;
    }
    const text = str(item);
    if (text === undefined) continue;
    const spec = text.replace(/\/(?:tcp|udp|sctp)$/, '');
    const ipv6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
    const parts = ipv6 ? [ipv6[1]!, ...ipv6[2]!.split(':')] : spec.split(':');
    const targetText = parts[parts.length - 1]!;
    const target = Number(targetText.split('-')[0]);
    if (parts.length === 1) out.push({ ...(Number.isFinite(target) ? { target } : {}), text }); // container port only: published on a random host port, all interfaces
    else if (parts.length === 2) out.push({ published: parts[0]!, ...(Number.isFinite(target) ? { target } : {}), text });
    else out.push({ hostIp: parts.slice(0, -2).join(':'), published: parts[parts.length - 2]!, ...(Number.isFinite(target) ? { target } : {}), text });
  }
  return out;
}

function checkCompose(file: ConfigFile, report: ConfigReport): void {
  for (const doc of file.yaml ?? []) {
    for (const { key: name, value: service } of entries(get(doc.root, 'services'))) {
      const at = (node: YValue): { line: number; column: number; evidence: string } => ({ line: node.line, column: node.column, evidence: file.lineText(node.line).slice(0, 200) });
      const image = str(get(service, 'image'));
      const ports = get(service, 'ports');
      if (ports) {
        for (const [index, mapping] of portMappings(ports).entries()) {
          const ml = mlServiceOf(mapping.target, image);
          if (!ml) continue;
          const host = mapping.hostIp?.replace(/^\[|\]$/g, '');
          if (host !== undefined && host !== '0.0.0.0' && host !== '::' && host !== '') continue;
          const node = items(ports)[index] ?? ports;
          report(composePortRule, { message: 'public', data: { name, service: ml.service, port: mapping.target ?? '?', mapping: mapping.text }, ...at(node), ...(ml.critical ? {} : { severity: 'medium' as const }), key: `${name}:${mapping.text}` });
        }
      }
      const privileged = get(service, 'privileged');
      if (privileged && isTruthy(privileged)) report(composePrivilegeRule, { message: 'privileged', data: { name }, ...at(privileged), key: `${name}:privileged` });
      for (const volume of items(get(service, 'volumes'))) {
        const source = volume.type === 'map' ? str(get(volume, 'source')) : str(volume)?.split(':')[0];
        if (source !== undefined && /(?:^|\/)docker\.sock$/.test(source)) report(composePrivilegeRule, { message: 'dockerSocket', data: { name, volume: source }, ...at(volume), key: `${name}:socket` });
      }
      for (const key of ['network_mode', 'pid', 'ipc', 'userns_mode'] as const) {
        const value = get(service, key);
        if (str(value) === 'host') report(composePrivilegeRule, { message: 'hostNamespace', data: { name, namespace: key === 'network_mode' ? 'network' : key }, ...at(value!), severity: 'medium', key: `${name}:${key}` });
      }
      for (const cap of items(get(service, 'cap_add'))) {
        const capability = str(cap)?.toUpperCase().replace(/^CAP_/, '');
        if (capability === 'ALL' || capability === 'SYS_ADMIN' || capability === 'SYS_PTRACE' || capability === 'SYS_MODULE') report(composePrivilegeRule, { message: 'capability', data: { name, capability }, ...at(cap), severity: 'medium', key: `${name}:${capability}` });
      }
      const environment = get(service, 'environment');
      const pairs: { key: string; value?: string; node: YValue }[] = [];
      if (environment?.type === 'map') for (const e of environment.entries) pairs.push({ key: e.key, ...(str(e.value) === undefined ? {} : { value: str(e.value)! }), node: e.value });
      for (const item of items(environment)) {
        const text = str(item);
        const eq = text?.indexOf('=') ?? -1;
        if (text !== undefined && eq > 0) pairs.push({ key: text.slice(0, eq), value: text.slice(eq + 1), node: item });
      }
      for (const pair of pairs) {
        if (!SECRET_NAME.test(pair.key) || NOT_SECRET_NAME.test(pair.key) || pair.value === undefined || pair.value === '' || pair.value.includes('${') || pair.value.startsWith('$')) continue;
        report(composeSecretRule, { message: 'literal', data: { name, key: pair.key }, line: pair.node.line, column: pair.node.column, secret: pair.value, key: `${name}:${pair.key}` });
      }
    }
  }
}

export const composeDomain: ConfigDomain = {
  name: 'compose',
  kinds: ['compose'],
  rules: [composePortRule, composePrivilegeRule, composeSecretRule],
  check: checkCompose,
};
