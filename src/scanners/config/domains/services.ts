import { parse as parseToml } from 'smol-toml';
import { asRecord } from '../../../core/json.js';
import { defineRule } from '../../../core/rule.js';
import { commandLines, flagValue, hasFlag, isPublicHost, type CommandLine } from '../commands.js';
import type { ConfigDomain, ConfigFile, ConfigKind, ConfigReport } from '../types.js';

/**
 * The services ML teams run with their defaults loosened: Jupyter, MLflow, Ray, TorchServe, Streamlit and
 * TensorBoard, read from their own configuration files and from the command lines that start them
 * (Dockerfiles, scripts, and wherever another domain extracts commands from).
 */

const noCheck = (): undefined => undefined;

export const jupyterExposedRule = defineRule<'publicNoAuth' | 'noAuth', void>({
  id: 'config/jupyter-no-auth',
  title: 'Jupyter runs without a token or password',
  description:
    'An empty `token` (and no `password`) switches Jupyter\'s authentication off. Anyone who reaches the port gets a ' +
    'terminal and a kernel as the server\'s user — exposed Jupyter servers are one of the most scanned-for and ' +
    'exploited services in cloud ML environments (cryptominers, credential theft).',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:306', 'owasp-ml:ML05'],
  remediation: 'Keep token authentication on (the default) or set a hashed password; bind to 127.0.0.1 and reach the server through SSH or an authenticating proxy (JupyterHub).',
  messages: {
    publicNoAuth: 'Jupyter listens on {{host}} with authentication switched off ({{setting}}): anyone who reaches the port runs code.',
    noAuth: 'Jupyter authentication is switched off ({{setting}}); whoever reaches the port runs code.',
  },
  check: noCheck,
});

export const jupyterSettingsRule = defineRule<'allowRoot' | 'xsrf' | 'origin', void>({
  id: 'config/jupyter-unsafe-settings',
  title: 'Jupyter runs with a safety check switched off',
  description: '`allow_root` runs kernels as root; `disable_check_xsrf` lets any web page a user visits drive their Jupyter server; `allow_origin = \'*\'` lets any origin call its API from a browser.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:352', 'cwe:250'],
  remediation: 'Remove the setting; run Jupyter as an unprivileged user and list the exact origins that need cross-origin access.',
  messages: {
    allowRoot: 'Jupyter is allowed to run as root ({{setting}}).',
    xsrf: 'Jupyter\'s XSRF check is switched off ({{setting}}): any web page can act on the server with the user\'s session.',
    origin: 'Jupyter accepts cross-origin requests from any origin ({{setting}}).',
  },
  check: noCheck,
});

export const mlflowExposedRule = defineRule<'publicNoAuth' | 'defaultPassword' | 'openDefault', void>({
  id: 'config/mlflow-exposed',
  title: 'MLflow tracking server is reachable without real authentication',
  description:
    '`mlflow server --host 0.0.0.0` without `--app-name basic-auth` serves experiments, artifacts and the model ' +
    'registry to the network with no authentication (and a history of path-traversal CVEs). The basic-auth app ' +
    'ships with `admin` / `password1234` until changed.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:306', 'cwe:1392', 'owasp-ml:ML05'],
  remediation: 'Start it with `--app-name basic-auth` (or behind an authenticating proxy), change `admin_password` and set `default_permission = READ` or `NO_PERMISSIONS`; bind to 127.0.0.1 when only local jobs use it.',
  messages: {
    publicNoAuth: 'mlflow {{sub}} listens on {{host}} without --app-name basic-auth: no authentication.',
    defaultPassword: 'MLflow basic auth keeps the default admin password.',
    openDefault: 'MLflow basic auth grants {{permission}} to every user by default.',
  },
  check: noCheck,
});

export const rayExposedRule = defineRule<'dashboard', void>({
  id: 'config/ray-dashboard-exposed',
  title: 'The Ray dashboard and jobs API listen on every interface',
  description: 'Ray\'s dashboard port also serves the Jobs API, which runs arbitrary commands on the cluster by design and has no authentication (ShadowRay, CVE-2023-48022, exploited in the wild).',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:306', 'owasp-ml:ML05'],
  remediation: 'Keep `--dashboard-host` at 127.0.0.1 and reach it through port-forwarding or an authenticating proxy; firewall the Ray ports to the cluster.',
  messages: { dashboard: 'ray start {{flag}}: the dashboard and Jobs API (remote code execution by design) are reachable from the network.' },
  check: noCheck,
});

export const torchserveExposedRule = defineRule<'management' | 'tokenOff' | 'allowedUrls' | 'inference', void>({
  id: 'config/torchserve-exposed',
  title: 'TorchServe management is exposed or unauthenticated',
  description:
    'TorchServe\'s management API registers models from URLs and runs their handlers: on a public address, with ' +
    'token authorization off or with `allowed_urls` open, anyone can make the server download and run a model ' +
    '(ShellTorch, CVE-2023-43654).',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:306', 'cwe:918', 'owasp-ml:ML05'],
  remediation: 'Bind `management_address` to 127.0.0.1, keep token authorization on, and restrict `allowed_urls` to your own model store.',
  messages: {
    management: 'management_address {{address}} exposes the model-management API on every interface.',
    tokenOff: 'Token authorization is switched off ({{setting}}).',
    allowedUrls: 'allowed_urls {{value}} lets the management API fetch models from anywhere.',
    inference: 'inference_address {{address}} serves predictions on every interface; check that a gateway authenticates callers.',
  },
  check: noCheck,
});

export const streamlitExposedRule = defineRule<'public' | 'xsrf' | 'cors', void>({
  id: 'config/streamlit-exposed',
  title: 'A Streamlit app is served to the network without protection',
  description: 'Streamlit has no authentication: bound to every interface, the app — and whatever model, data or credentials it uses — is open to the network. Switching off XSRF protection or CORS checks widens that to any web page.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:306', 'cwe:352'],
  remediation: 'Bind to 127.0.0.1 behind an authenticating proxy, and keep `enableXsrfProtection` and `enableCORS` at their defaults.',
  messages: {
    public: 'Streamlit listens on {{host}} ({{setting}}) with no authentication.',
    xsrf: 'Streamlit XSRF protection is switched off ({{setting}}).',
    cors: 'Streamlit CORS protection is switched off ({{setting}}).',
  },
  check: noCheck,
});

export const tensorboardExposedRule = defineRule<'public', void>({
  id: 'config/tensorboard-exposed',
  title: 'TensorBoard is served on every interface',
  description: 'TensorBoard has no authentication; `--bind_all` or `--host 0.0.0.0` shows training data, metrics, embeddings and logs to anyone on the network.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:306'],
  remediation: 'Keep the default (localhost) and use `ssh -L` or an authenticating proxy.',
  messages: { public: 'tensorboard {{flag}} serves logs and data on every interface without authentication.' },
  check: noCheck,
});

// ---------------------------------------------------------------------------------------------------

interface Setting {
  /** `ServerApp.token`, `NotebookApp.ip`, … (class.trait) */
  name: string;
  value: string | boolean;
  line: number;
}

/** `c.ServerApp.token = ''` lines of a Python config, and the `{"ServerApp": {"token": ""}}` JSON form. */
function jupyterSettings(file: ConfigFile): Setting[] {
  const out: Setting[] = [];
  if (file.path.endsWith('.json')) {
    let doc: unknown;
    try {
      doc = JSON.parse(file.text);
    } catch {
      return out;
    }
    for (const [klass, traits] of Object.entries(asRecord(doc) ?? {})) {
      for (const [trait, value] of Object.entries(asRecord(traits) ?? {})) {
        if (typeof value !== 'string' && typeof value !== 'boolean') continue;
        const at = file.text.indexOf(`"${trait}"`);
        out.push({ name: `${klass}.${trait}`, value, line: at < 0 ? 1 : file.text.slice(0, at).split('\n').length });
      }
    }
    return out;
  }
  file.text.split(/\r?\n/).forEach((raw, i) => {
    const m = /^\s*c\.(\w+)\.(\w+)\s*=\s*(.+?)\s*(?:#.*)?$/.exec(raw);
    if (!m) return;
    const rhs = m[3]!;
    const value = rhs === 'True' ? true : rhs === 'False' ? false : /^(?:u|r)?(['"])(.*)\1$/.exec(rhs)?.[2] ?? rhs;
    out.push({ name: `${m[1]}.${m[2]}`, value, line: i + 1 });
  });
  return out;
}

/** Jupyter flags from a command line (`--ip=0.0.0.0`, `--ServerApp.token=`, `--allow-root`) as settings. */
function jupyterFlags(command: CommandLine): Setting[] | undefined {
  const [program, sub] = command.words;
  const isJupyter = (program === 'jupyter' && /^(?:notebook|lab|server)$/.test(sub ?? '')) || /^(?:jupyter-(?:notebook|lab|server)|start-notebook\.(?:sh|py)|start-singleuser\.(?:sh|py))$/.test(program?.split('/').pop() ?? '');
  if (!isJupyter) return undefined;
  const out: Setting[] = [];
  for (const word of command.words) {
    const m = /^--(?:(\w+)\.)?([\w-]+)(?:=(.*))?$/.exec(word);
    if (!m) continue;
    const trait = m[2]!.replace(/-/g, '_');
    const value = m[3] === undefined ? true : m[3] === 'True' ? true : m[3] === 'False' ? false : m[3];
    out.push({ name: `${m[1] ?? 'ServerApp'}.${trait}`, value, line: command.line });
  }
  // `--ip 0.0.0.0` with a space
  const ip = flagValue(command.words, '--ip');
  if (ip !== undefined && !out.some((s) => s.name.endsWith('.ip') && typeof s.value === 'string')) out.push({ name: 'ServerApp.ip', value: ip, line: command.line });
  return out;
}

function checkJupyter(settings: Setting[], file: ConfigFile, report: ConfigReport): void {
  const find = (trait: string): Setting | undefined => [...settings].reverse().find((s) => s.name.endsWith(`.${trait}`));
  const token = find('token');
  const password = find('password');
  const ip = find('ip');
  const evidence = (s: Setting): { line: number; column: number; evidence: string } => ({ line: s.line, column: 1, evidence: file.lineText(s.line).slice(0, 200) });
  const tokenOff = token !== undefined && token.value === '' && (password === undefined || password.value === '');
  const authOff = find('disable_auth')?.value === true || find('auth_enabled')?.value === false;
  if (tokenOff || authOff) {
    const setting = authOff ? 'authentication disabled' : `${token!.name} = ''`;
    const where = evidence(authOff ? find('disable_auth') ?? find('auth_enabled')! : token!);
    const host = typeof ip?.value === 'string' ? ip.value : undefined;
    if (host !== undefined && (isPublicHost(host) || host === '')) report(jupyterExposedRule, { message: 'publicNoAuth', data: { host: host === '' ? 'every interface' : host, setting }, ...where, key: 'no-auth' });
    else report(jupyterExposedRule, { message: 'noAuth', data: { setting }, ...where, severity: 'high', key: 'no-auth' });
  }
  const root = find('allow_root');
  if (root?.value === true) report(jupyterSettingsRule, { message: 'allowRoot', data: { setting: root.name }, ...evidence(root), key: 'allow_root' });
  const xsrf = find('disable_check_xsrf');
  if (xsrf?.value === true) report(jupyterSettingsRule, { message: 'xsrf', data: { setting: xsrf.name }, ...evidence(xsrf), key: 'xsrf' });
  const origin = find('allow_origin');
  if (origin?.value === '*') report(jupyterSettingsRule, { message: 'origin', data: { setting: `${origin.name} = '*'` }, ...evidence(origin), key: 'origin' });
}

function checkCommands(file: ConfigFile, report: ConfigReport): void {
  for (const command of commandLines(file)) {
    const at = { line: command.line, column: 1, evidence: file.lineText(command.line).slice(0, 200) };
    const [program, sub] = command.words;
    const name = program?.split('/').pop();
    const jupyter = jupyterFlags(command);
    if (jupyter) {
      checkJupyter(jupyter, file, report);
      continue;
    }
    if (name === 'mlflow' && (sub === 'server' || sub === 'ui')) {
      const host = flagValue(command.words, '--host', '-h');
      const app = flagValue(command.words, '--app-name');
      if (isPublicHost(host) && app === undefined) report(mlflowExposedRule, { message: 'publicNoAuth', data: { sub, host: host! }, ...at, key: `mlflow:${command.line}` });
    } else if (name === 'ray' && sub === 'start') {
      const host = flagValue(command.words, '--dashboard-host');
      if (isPublicHost(host)) report(rayExposedRule, { message: 'dashboard', data: { flag: `--dashboard-host=${host}` }, ...at, key: `ray:${command.line}` });
    } else if (name === 'streamlit' && sub === 'run') {
      const host = flagValue(command.words, '--server.address');
      if (isPublicHost(host)) report(streamlitExposedRule, { message: 'public', data: { host: host!, setting: '--server.address' }, ...at, key: `streamlit:${command.line}` });
      if (flagValue(command.words, '--server.enableXsrfProtection')?.toLowerCase() === 'false') report(streamlitExposedRule, { message: 'xsrf', data: { setting: '--server.enableXsrfProtection=false' }, ...at, key: `xsrf:${command.line}` });
      if (flagValue(command.words, '--server.enableCORS')?.toLowerCase() === 'false') report(streamlitExposedRule, { message: 'cors', data: { setting: '--server.enableCORS=false' }, ...at, key: `cors:${command.line}` });
    } else if (name === 'tensorboard') {
      const host = flagValue(command.words, '--host');
      if (hasFlag(command.words, '--bind_all')) report(tensorboardExposedRule, { message: 'public', data: { flag: '--bind_all' }, ...at, key: `tb:${command.line}` });
      else if (isPublicHost(host)) report(tensorboardExposedRule, { message: 'public', data: { flag: `--host ${host}` }, ...at, key: `tb:${command.line}` });
    } else if (name === 'torchserve') {
      if (hasFlag(command.words, '--disable-token-auth')) report(torchserveExposedRule, { message: 'tokenOff', data: { setting: '--disable-token-auth' }, ...at, severity: 'high', key: `ts:${command.line}` });
    }
  }
}

/** Java properties: `key=value`, `key: value`, `key value`; `#`/`!` comments; backslash continuations. */
function properties(text: string): { key: string; value: string; line: number }[] {
  const out: { key: string; value: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trimStart();
    const m = /^((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.push({ key: m[1]!, value: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

function checkTorchserve(file: ConfigFile, report: ConfigReport): void {
  const props = properties(file.text);
  const get = (key: string): { value: string; line: number } | undefined => [...props].reverse().find((p) => p.key === key);
  const at = (p: { line: number }): { line: number; column: number; evidence: string } => ({ line: p.line, column: 1, evidence: file.lineText(p.line).slice(0, 200) });
  // Only a file that is a TorchServe config (it names at least one of its addresses or settings).
  if (!props.some((p) => /^(?:inference_address|management_address|metrics_address|model_store|load_models|allowed_urls|disable_token_authorization|enable_token_auth)$/.test(p.key))) return;
  const management = get('management_address');
  const tokenOff = get('disable_token_authorization');
  const publicManagement = management !== undefined && isPublicHost(management.value);
  if (publicManagement) report(torchserveExposedRule, { message: 'management', data: { address: management.value }, ...at(management), key: 'management' });
  if (tokenOff && /^true$/i.test(tokenOff.value)) report(torchserveExposedRule, { message: 'tokenOff', data: { setting: 'disable_token_authorization=true' }, ...at(tokenOff), severity: publicManagement ? 'critical' : 'high', key: 'token' });
  const allowed = get('allowed_urls');
  if (allowed && allowed.value.split(',').some((u) => /^(?:\.\*|\^?https?:\/\/\.\*|\*|https?:\/\/\*.*)$/.test(u.trim()))) report(torchserveExposedRule, { message: 'allowedUrls', data: { value: allowed.value }, ...at(allowed), severity: 'high', key: 'allowed_urls' });
  const inference = get('inference_address');
  if (inference && isPublicHost(inference.value)) report(torchserveExposedRule, { message: 'inference', data: { address: inference.value }, ...at(inference), severity: 'low', key: 'inference' });
}

function checkStreamlit(file: ConfigFile, report: ConfigReport): void {
  let doc: unknown;
  try {
    doc = parseToml(file.text);
  } catch {
    return;
  }
  const server = asRecord(asRecord(doc)?.['server']) ?? {};
  const lineOf = (key: string): { line: number; column: number; evidence: string } => {
    const index = file.text.split(/\r?\n/).findIndex((l) => new RegExp(`^\\s*${key}\\s*=`).test(l));
    return { line: index + 1 || 1, column: 1, evidence: file.lineText(index + 1 || 1) };
  };
  if (typeof server['address'] === 'string' && isPublicHost(server['address'])) report(streamlitExposedRule, { message: 'public', data: { host: server['address'], setting: 'server.address' }, ...lineOf('address'), key: 'address' });
  if (server['enableXsrfProtection'] === false) report(streamlitExposedRule, { message: 'xsrf', data: { setting: 'server.enableXsrfProtection = false' }, ...lineOf('enableXsrfProtection'), key: 'xsrf' });
  if (server['enableCORS'] === false) report(streamlitExposedRule, { message: 'cors', data: { setting: 'server.enableCORS = false' }, ...lineOf('enableCORS'), key: 'cors' });
}

function checkMlflowAuth(file: ConfigFile, report: ConfigReport): void {
  file.text.split(/\r?\n/).forEach((raw, i) => {
    const m = /^\s*([\w.-]+)\s*[=:]\s*(.*?)\s*$/.exec(raw);
    if (!m) return;
    const at = { line: i + 1, column: 1 };
    if (m[1] === 'admin_password' && m[2] === 'password1234') report(mlflowExposedRule, { message: 'defaultPassword', ...at, evidence: 'admin_password = <default>', key: 'admin_password' });
    if (m[1] === 'default_permission' && /^(?:EDIT|MANAGE)$/i.test(m[2]!)) report(mlflowExposedRule, { message: 'openDefault', data: { permission: m[2]!.toUpperCase() }, ...at, evidence: file.lineText(i + 1), severity: 'medium', key: 'default_permission' });
  });
}

function checkServices(file: ConfigFile, report: ConfigReport): void {
  switch (file.kind) {
    case 'jupyter-config':
      checkJupyter(jupyterSettings(file), file, report);
      return;
    case 'torchserve-properties':
      checkTorchserve(file, report);
      return;
    case 'streamlit-config':
      checkStreamlit(file, report);
      return;
    case 'mlflow-auth':
      checkMlflowAuth(file, report);
      return;
    default:
      checkCommands(file, report);
  }
}

/** Kinds whose command lines `commandLines` extracts, plus the services' own config files. */
const KINDS: readonly ConfigKind[] = ['compose', 'dockerfile', 'github-actions', 'gitlab-ci', 'kubernetes', 'shell', 'jupyter-config', 'torchserve-properties', 'streamlit-config', 'mlflow-auth'];

export const servicesDomain: ConfigDomain = {
  name: 'services',
  kinds: KINDS,
  rules: [jupyterExposedRule, jupyterSettingsRule, mlflowExposedRule, rayExposedRule, streamlitExposedRule, tensorboardExposedRule, torchserveExposedRule],
  check: checkServices,
};
