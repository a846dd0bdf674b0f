import { defineRule, type Report } from '../../core/rule.js';
import type { Call, PythonFacts, Value } from './python.js';

/** What the code rules see: one file's (or notebook's) Python facts plus what the deps say about torch. */
export interface CodeContext {
  facts: PythonFacts;
  /** The lowest torch version the project's manifests allow, when they say (`torch==2.5.1` → 2.5.1). */
  torchVersion?: string;
  /** Maps a fact's line to where it is in the file (notebooks: the raw .ipynb line, plus cell). */
  locate(line: number, column: number): { line: number; column: number; properties?: Record<string, unknown> };
  /** The source line, for evidence. */
  lineText(line: number): string;
}

function at(context: CodeContext, call: { line: number; column: number }): { line: number; column: number; evidence: string; properties?: Record<string, unknown> } {
  const where = context.locate(call.line, call.column);
  return { line: where.line, column: where.column, evidence: context.lineText(call.line).trim().slice(0, 200), ...(where.properties ? { properties: where.properties } : {}) };
}

const isTrue = (v: Value | undefined): boolean => v?.kind === 'bool' && v.value;
const isFalse = (v: Value | undefined): boolean => (v?.kind === 'bool' && !v.value) || v?.kind === 'none';
/** A string literal that names a file on this machine rather than a URL or hub repository. */
const isLocalPathLiteral = (v: Value | undefined): boolean => v?.kind === 'string' && (/^(?:\.{0,2}\/|~\/|[A-Za-z]:\\)/.test(v.value) || /\.(?:pt|pth|bin|pkl|pickle|joblib|npy|npz|h5|keras|ckpt|safetensors)$/i.test(v.value)) && !/^[a-z]+:\/\//i.test(v.value);
const isCommit = (v: Value | undefined): boolean => v?.kind === 'string' && /^[0-9a-f]{40}$/i.test(v.value);

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.+]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function calls(context: CodeContext, test: (call: Call) => boolean): Call[] {
  return context.facts.calls.filter(test);
}

export const torchLoadRule = defineRule<'missing' | 'explicitFalse' | 'unknown' | 'oldTorch' | 'defaultSafe', CodeContext>({
  id: 'code/torch-load-unsafe',
  title: 'torch.load can run code from the file it loads',
  description:
    '`torch.load` unpickles the checkpoint. Without `weights_only=True` (the default only from PyTorch 2.6), any ' +
    'pickled object in the file runs code as it loads; and before 2.6 even `weights_only=True` could be bypassed ' +
    '(CVE-2025-32434). A model file from a hub, a shared bucket or a teammate is enough.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:502', 'owasp-ml:ML06'],
  remediation: 'Load weights from safetensors, or call `torch.load(path, weights_only=True)` on PyTorch 2.6 or later (pin `torch>=2.6`), and scan model files before loading them.',
  messages: {
    missing: 'torch.load without weights_only=True: on PyTorch before 2.6 (or with the default overridden) loading this file runs any code pickled in it.',
    explicitFalse: 'torch.load with weights_only={{value}}: any code pickled in the file runs when it loads.',
    unknown: 'torch.load with weights_only={{value}}, a value not known here: unless it is True, any code pickled in the file runs.',
    oldTorch: 'torch.load with weights_only=True, but the project pins torch {{version}}: before 2.6 the weights-only unpickler can be bypassed (CVE-2025-32434).',
    defaultSafe: 'torch.load without weights_only: safe by default on the torch {{version}} this project pins, but say weights_only=True so an older install does not run pickled code.',
  },
  check(context, report) {
    for (const call of calls(context, (c) => c.name === 'torch.load' || c.name === 'torch.serialization.load')) {
      const value = call.kwargs.get('weights_only');
      const where = at(context, call);
      if (isTrue(value)) {
        if (context.torchVersion !== undefined && compareVersions(context.torchVersion, '2.6') < 0) report({ message: 'oldTorch', data: { version: context.torchVersion }, ...where, key: `${call.line}:old` });
      } else if (isFalse(value)) report({ message: 'explicitFalse', data: { value: value!.text }, ...where, severity: 'critical', key: where.evidence });
      else if (value !== undefined) report({ message: 'unknown', data: { value: value.text }, ...where, severity: 'medium', key: where.evidence });
      else if (!call.spread) {
        if (context.torchVersion !== undefined && compareVersions(context.torchVersion, '2.6') >= 0) report({ message: 'defaultSafe', data: { version: context.torchVersion }, ...where, severity: 'low', key: where.evidence });
        else report({ message: 'missing', ...where, key: where.evidence });
      }
    }
  },
});

export const trustRemoteCodeRule = defineRule<'trust', CodeContext>({
  id: 'code/trust-remote-code',
  title: 'Loading a model runs Python code from its repository',
  description:
    '`trust_remote_code=True` makes transformers (and datasets, sentence-transformers, vLLM…) import the Python ' +
    'files shipped with the model repository. Whoever can push to that repository — or to a fork someone ' +
    'points you at — runs code in your training or serving process.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:94', 'owasp-ml:ML06'],
  remediation: 'Prefer architectures built into the library. If remote code is needed, review it and pin `revision=` to that reviewed commit (40-hex), or vendor the code.',
  messages: { trust: '{{callee}} with trust_remote_code=True runs Python code from the model repository{{pinned}}.' },
  check(context, report) {
    for (const call of calls(context, (c) => isTrue(c.kwargs.get('trust_remote_code')))) {
      const pinned = isCommit(call.kwargs.get('revision')) ? ' (pinned to a commit: review that commit\'s code)' : '';
      report({ message: 'trust', data: { callee: call.method, pinned }, ...at(context, call), ...(pinned ? { severity: 'medium' as const } : {}), key: at(context, call).evidence });
    }
  },
});

const HUB_LOADERS = new Set(['from_pretrained', 'hf_hub_download', 'snapshot_download', 'load_dataset', 'from_single_file']);

export const hubRevisionRule = defineRule<'unpinned' | 'movable', CodeContext>({
  id: 'code/hub-revision-unpinned',
  title: 'A model or dataset is downloaded from a hub without a pinned commit',
  description:
    '`from_pretrained`, `hf_hub_download`, `snapshot_download` and `load_dataset` fetch whatever the repository ' +
    'holds today. Without `revision=` set to a commit id, a new push (or a compromised account) changes the ' +
    'weights, tokenizer, remote code or data your pipeline uses, with nothing in your code changing.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['cwe:829', 'owasp-ml:ML06'],
  remediation: 'Pass `revision="<40-hex commit id>"` (the commit you evaluated), and record it with the model\'s provenance.',
  messages: {
    unpinned: '{{callee}}({{repo}}) has no revision: it downloads whatever the repository holds at run time.',
    movable: '{{callee}}({{repo}}) uses revision {{revision}}, a branch or tag that can move; pin a commit id.',
  },
  check(context, report) {
    for (const call of calls(context, (c) => HUB_LOADERS.has(c.method))) {
      const repo = call.kwargs.get('repo_id') ?? call.kwargs.get('pretrained_model_name_or_path') ?? call.kwargs.get('path') ?? call.args[0];
      if (!repo || isLocalPathLiteral(repo) || call.spread) continue;
      // A variable that is not a module constant may be a local path: only literal repositories and names count.
      if (repo.kind !== 'string' && repo.kind !== 'name') continue;
      if (repo.kind === 'name' && !/(?:model|repo|checkpoint|dataset|name|id|hub)/i.test(repo.text)) continue;
      const revision = call.kwargs.get('revision');
      const shown = repo.kind === 'string' ? repo.text : repo.text;
      const where = at(context, call);
      if (revision === undefined) report({ message: 'unpinned', data: { callee: call.method, repo: shown }, ...where, key: where.evidence });
      else if (revision.kind === 'string' && !isCommit(revision)) report({ message: 'movable', data: { callee: call.method, repo: shown, revision: revision.text }, ...where, key: where.evidence });
    }
  },
});

const PICKLE_LOADERS: ReadonlyMap<string, string> = new Map([
  ['pickle.load', 'pickle.load'], ['pickle.loads', 'pickle.loads'], ['pickle.Unpickler', 'pickle.Unpickler'],
  ['_pickle.load', 'pickle.load'], ['_pickle.loads', 'pickle.loads'], ['cPickle.load', 'pickle.load'], ['cPickle.loads', 'pickle.loads'],
  ['cloudpickle.load', 'cloudpickle.load'], ['cloudpickle.loads', 'cloudpickle.loads'],
  ['dill.load', 'dill.load'], ['dill.loads', 'dill.loads'], ['joblib.load', 'joblib.load'], ['sklearn.externals.joblib.load', 'joblib.load'],
  ['pandas.read_pickle', 'pandas.read_pickle'], ['shelve.open', 'shelve.open'], ['numpy.load', 'numpy.load'], ['skops.io.load', 'skops.io.load'],
]);

export const pickleLoadRule = defineRule<'load' | 'localFile' | 'numpy', CodeContext>({
  id: 'code/pickle-load',
  title: 'Data is unpickled where its origin is not a fixed local file',
  description:
    'pickle, cloudpickle, dill, joblib, `pandas.read_pickle`, `shelve` and `numpy.load(allow_pickle=True)` run code ' +
    'from the data as they load it. Unless the bytes are your own local file, whoever supplies them — a download, a ' +
    'request body, a bucket — runs code in this process.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:502', 'owasp-ml:ML06'],
  remediation: 'Use a format that cannot carry code (safetensors, JSON, numpy without allow_pickle, ONNX), or scan the file with `custody scan` and check its digest before loading it.',
  messages: {
    load: '{{callee}}({{arg}}) unpickles data that is not a fixed local file: any code pickled in it runs.',
    localFile: '{{callee}} unpickles {{path}}: any code pickled in that file runs, so load it only after `custody scan` and a digest check.',
    numpy: 'numpy.load({{arg}}, allow_pickle=True) unpickles object arrays: any code pickled in them runs.',
  },
  check(context, report) {
    for (const call of context.facts.calls) {
      const api = PICKLE_LOADERS.get(call.name);
      if (!api) continue;
      const first = call.args[0] ?? call.kwargs.get('file') ?? call.kwargs.get('filename') ?? call.kwargs.get('filepath_or_buffer');
      if (api === 'numpy.load') {
        if (!isTrue(call.kwargs.get('allow_pickle'))) continue;
        if (isLocalPathLiteral(first)) continue;
        report({ message: 'numpy', data: { arg: first?.text ?? '' }, ...at(context, call), key: at(context, call).evidence });
        continue;
      }
      // `pickle.load(open("model.pkl", "rb"))` and `joblib.load("./model.joblib")` read a fixed local file:
      // reported low (a model file is still only as safe as where it came from).
      const opened = first?.kind === 'name' && first.qualified === 'open()' ? /^open\(\s*(['"])(.*)\1/.exec(first.text)?.[2] : undefined;
      const local = first?.kind === 'string' && isLocalPathLiteral(first) ? first.value : opened !== undefined && !/^[a-z]+:\/\//i.test(opened) ? opened : undefined;
      const where = at(context, call);
      if (local !== undefined) report({ message: 'localFile', data: { callee: api, path: JSON.stringify(local) }, ...where, severity: 'low', confidence: 'high', key: where.evidence });
      else report({ message: 'load', data: { callee: api, arg: (first?.text ?? '').slice(0, 60) }, ...where, key: where.evidence });
    }
  },
});

const KERAS_LOADERS = /(?:^|\.)(?:keras(?:\.models|\.saving)?|tensorflow\.keras(?:\.models)?|tf_keras(?:\.models)?)\.load_model$/;

export const kerasUnsafeRule = defineRule<'safeModeOff' | 'unsafeDeserialization', CodeContext>({
  id: 'code/keras-unsafe-deserialization',
  title: 'Keras is told to run code stored in a model file',
  description:
    '`load_model(..., safe_mode=False)` and `keras.config.enable_unsafe_deserialization()` let a `.keras` file\'s ' +
    'Lambda layers run the Python bytecode they carry (CVE-2024-3660 showed what that allows).',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:502', 'owasp-ml:ML06'],
  remediation: 'Keep `safe_mode=True` (the default); replace Lambda layers with registered custom layers whose code lives in your package.',
  messages: {
    safeModeOff: '{{callee}} with safe_mode=False runs Python bytecode stored in the model file.',
    unsafeDeserialization: 'enable_unsafe_deserialization() lets every later Keras load run code stored in model files.',
  },
  check(context, report) {
    for (const call of context.facts.calls) {
      if ((KERAS_LOADERS.test(call.name) || (call.method === 'load_model' && call.name.startsWith('?'))) && isFalse(call.kwargs.get('safe_mode'))) {
        report({ message: 'safeModeOff', data: { callee: call.name.replace(/^\?/, '') }, ...at(context, call), key: at(context, call).evidence });
      } else if (call.method === 'enable_unsafe_deserialization' && /keras/.test(call.name)) {
        report({ message: 'unsafeDeserialization', ...at(context, call), key: 'enable_unsafe_deserialization' });
      }
    }
  },
});

const SAFE_YAML_LOADERS = /(?:^|\.)(?:SafeLoader|CSafeLoader|BaseLoader|CBaseLoader)$/;

export const yamlLoadRule = defineRule<'unsafe' | 'noLoader', CodeContext>({
  id: 'code/yaml-unsafe-load',
  title: 'YAML is loaded with a loader that builds arbitrary Python objects',
  description:
    '`yaml.load` with `Loader=yaml.Loader`/`UnsafeLoader`/`FullLoader`, `yaml.unsafe_load` and `yaml.full_load` can ' +
    'construct Python objects named in the document — model configs and experiment files become code.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:502'],
  remediation: 'Use `yaml.safe_load(...)` or `yaml.load(..., Loader=yaml.SafeLoader)`.',
  messages: {
    unsafe: '{{callee}} builds arbitrary Python objects named in the YAML document.',
    noLoader: 'yaml.load without a safe Loader: older PyYAML builds arbitrary Python objects, newer refuses to run.',
  },
  check(context, report) {
    for (const call of context.facts.calls) {
      if (call.name === 'yaml.unsafe_load' || call.name === 'yaml.unsafe_load_all' || call.name === 'yaml.full_load' || call.name === 'yaml.full_load_all') {
        report({ message: 'unsafe', data: { callee: call.name }, ...at(context, call), ...(call.name.startsWith('yaml.full') ? { severity: 'medium' as const } : {}), key: at(context, call).evidence });
        continue;
      }
      if (call.name !== 'yaml.load' && call.name !== 'yaml.load_all') continue;
      const loader = call.kwargs.get('Loader') ?? call.args[1];
      if (loader === undefined) report({ message: 'noLoader', ...at(context, call), severity: 'medium', key: at(context, call).evidence });
      else if (loader.kind === 'name' && !SAFE_YAML_LOADERS.test(loader.qualified)) report({ message: 'unsafe', data: { callee: `${call.name}(Loader=${loader.text})` }, ...at(context, call), key: at(context, call).evidence });
    }
  },
});

export const torchHubRule = defineRule<'trustRepo', CodeContext>({
  id: 'code/torch-hub-trust-repo',
  title: 'torch.hub loads code from a repository without asking',
  description: '`torch.hub.load(repo, ..., trust_repo=True)` imports `hubconf.py` and everything it imports from the repository\'s default branch (or the ref given): its owner runs code in your process.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:94', 'owasp-ml:ML06'],
  remediation: 'Vendor the model code, or pin the repository to a reviewed commit (`owner/repo:<commit>`) and keep `trust_repo` at its default so new repositories are confirmed.',
  messages: { trustRepo: 'torch.hub.load({{repo}}) with trust_repo=True runs the repository\'s hubconf.py without confirmation.' },
  check(context, report) {
    for (const call of calls(context, (c) => c.name === 'torch.hub.load' && isTrue(c.kwargs.get('trust_repo')))) {
      report({ message: 'trustRepo', data: { repo: call.args[0]?.text ?? '' }, ...at(context, call), key: at(context, call).evidence });
    }
  },
});

export const evalModelOutputRule = defineRule<'eval', CodeContext>({
  id: 'code/eval-model-output',
  title: 'Text produced by a model is executed as code',
  description:
    '`eval`/`exec`/`compile` of what a model or tokenizer returned (`generate`, `decode`, a pipeline or chat-completion ' +
    'result) runs whatever a prompt injection or a poisoned model makes it say.',
  severity: 'critical',
  confidence: 'medium',
  tags: ['cwe:95', 'owasp-ml:ML09'],
  remediation: 'Never execute model output. Parse it as data (`json.loads`, `ast.literal_eval` for literals) and act through an allow-list of functions, or run generated code only in a sandbox without credentials or network.',
  messages: { eval: '{{callee}} executes text derived from model or tokenizer output.' },
  check(context, report) {
    for (const call of calls(context, (c) => (c.name === 'eval' || c.name === 'exec' || c.name === 'compile' || c.name === 'builtins.eval' || c.name === 'builtins.exec') && c.argsFromModelOutput)) {
      report({ message: 'eval', data: { callee: call.name }, ...at(context, call), key: at(context, call).evidence });
    }
  },
});

const PUBLIC_HOSTS = new Set(['0.0.0.0', '::', '', '*']);

export const publicServiceRule = defineRule<'gradioShare' | 'gradioPublic' | 'rayDashboard' | 'streamlitPublic', CodeContext>({
  id: 'code/ml-service-public',
  title: 'An ML demo or dashboard is exposed beyond this machine without authentication',
  description:
    'Gradio `launch(share=True)` publishes the app through a public `*.gradio.live` tunnel; `launch(server_name="0.0.0.0")` ' +
    'without `auth=` serves it to the whole network. `ray.init(dashboard_host="0.0.0.0")` exposes the Ray dashboard ' +
    'and jobs API, which runs arbitrary code by design (ShadowRay, CVE-2023-48022).',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:306', 'owasp-ml:ML05'],
  remediation: 'Bind to 127.0.0.1 and put an authenticating proxy in front; for Gradio pass `auth=` (and avoid `share=True` with private models or data); keep the Ray dashboard on localhost or behind authentication.',
  messages: {
    gradioShare: 'Gradio launch(share=True) publishes this app on a public URL{{auth}}.',
    gradioPublic: 'Gradio launch(server_name={{host}}) serves this app on every interface with no auth=.',
    rayDashboard: 'ray.init(dashboard_host={{host}}) exposes the Ray dashboard and jobs API (remote code execution by design).',
    streamlitPublic: 'Streamlit is started on {{host}}: the app is reachable from the network without authentication.',
  },
  check(context, report) {
    const gradio = [...context.facts.imports].some((m) => m === 'gradio' || m.startsWith('gradio.'));
    for (const call of context.facts.calls) {
      if (call.method === 'launch' && (call.name.startsWith('gradio.') || gradio)) {
        const auth = call.kwargs.has('auth') || call.kwargs.has('auth_dependency');
        if (isTrue(call.kwargs.get('share'))) report({ message: 'gradioShare', data: { auth: auth ? ' (password auth is set, but the app is still on the internet)' : ' with no auth=' }, ...at(context, call), ...(auth ? { severity: 'medium' as const } : {}), key: `${at(context, call).evidence}:share` });
        const host = call.kwargs.get('server_name');
        if (host?.kind === 'string' && PUBLIC_HOSTS.has(host.value) && !auth) report({ message: 'gradioPublic', data: { host: host.text }, ...at(context, call), key: `${at(context, call).evidence}:host` });
      } else if (call.name === 'ray.init') {
        const host = call.kwargs.get('dashboard_host');
        if (host?.kind === 'string' && PUBLIC_HOSTS.has(host.value)) report({ message: 'rayDashboard', data: { host: host.text }, ...at(context, call), key: at(context, call).evidence });
      }
    }
  },
});

const SECRET_NAME = /(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|credential|private[_-]?key)/i;

function isEnvironment(value: Value | undefined): boolean {
  return value?.kind === 'name' && /^os\.environ(?:\(\)|\.copy\(\))?$|^dict\(\)$/.test(value.qualified) && (value.qualified !== 'dict()' || /os\.environ/.test(value.text));
}

export const trackingSecretsRule = defineRule<'environ' | 'secret', CodeContext>({
  id: 'code/tracking-logs-secrets',
  title: 'Experiment tracking logs environment variables or secrets',
  description:
    'Logging `os.environ` (or a value named like a token, password or key) as MLflow params, W&B config or a Neptune ' +
    'field copies every credential in the environment into the tracking server, where everyone with read access to ' +
    'the project — and its backups — can see it.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:532', 'owasp-ml:ML05'],
  remediation: 'Log an explicit allow-list of settings; never pass os.environ or credentials to a tracker. Rotate any credential already logged.',
  messages: {
    environ: '{{callee}} logs the whole process environment (every credential in it) to the tracking server.',
    secret: '{{callee}} logs {{name}}, which looks like a credential, to the tracking server.',
  },
  check(context, report) {
    const tracked = (call: Call): boolean => /^(?:mlflow|wandb|neptune|comet_ml|clearml)\b/.test(call.name) || /^(?:mlflow|wandb)\./.test(call.name.replace(/^\?/, ''));
    for (const call of context.facts.calls) {
      if (!tracked(call) && !(call.method === 'update' && /wandb\.config|^wandb\.run\(\)\.config/.test(call.name))) continue;
      const values = [...call.args, ...call.kwargs.values()];
      if (values.some(isEnvironment)) {
        report({ message: 'environ', data: { callee: call.name }, ...at(context, call), key: `${at(context, call).evidence}:environ` });
        continue;
      }
      if ((call.method === 'log_param' || call.method === 'set_tag') && call.args[0]?.kind === 'string' && SECRET_NAME.test(call.args[0].value)) {
        report({ message: 'secret', data: { callee: call.name, name: call.args[0].text }, ...at(context, call), key: `${at(context, call).evidence}:secret` });
      } else if ((call.method === 'log_params' || call.method === 'init' || call.method === 'update') && values.some((v) => v.kind === 'other' && /['"][^'"]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)[^'"]*['"]\s*:/i.test(v.text))) {
        report({ message: 'secret', data: { callee: call.name, name: 'a credential-named key' }, ...at(context, call), key: `${at(context, call).evidence}:secret` });
      }
    }
    for (const item of context.facts.itemAssignments) {
      if (isEnvironment(item.value)) report({ message: 'environ', data: { callee: `${item.target}[…] =` }, ...at(context, item), key: `${item.target}:environ` });
    }
  },
});

export const parseIncompleteRule = defineRule<'incomplete' | 'tooLarge', CodeContext>({
  id: 'code/parse-incomplete',
  title: 'Python source could not be analysed completely',
  description: 'The file is larger than the code scanner reads, or parsing it did not finish within the time limit, so unsafe calls in it may not have been seen. It is reported rather than treated as clean.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Split generated or vendored code out of the scanned tree (`--exclude`), or raise `limits.fileTimeoutMs` / `limits.maxTextBytes`.',
  messages: {
    incomplete: 'Parsing stopped at the time limit; only part of the file was analysed.',
    tooLarge: 'The file is {{size}} bytes, over the {{limit}}-byte limit for code analysis; it was not analysed.',
  },
  check(context, report: Report<'incomplete' | 'tooLarge'>) {
    if (context.facts.incomplete) report({ message: 'incomplete', line: 1, key: 'incomplete' });
  },
});

/** The code scanner's rules, sorted by id. */
export const CODE_RULES = [
  evalModelOutputRule,
  hubRevisionRule,
  kerasUnsafeRule,
  publicServiceRule,
  parseIncompleteRule,
  pickleLoadRule,
  torchHubRule,
  torchLoadRule,
  trackingSecretsRule,
  trustRemoteCodeRule,
  yamlLoadRule,
].sort((a, b) => (a.id < b.id ? -1 : 1));
