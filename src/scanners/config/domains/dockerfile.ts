import picomatch from 'picomatch';
import { defineRule } from '../../../core/rule.js';
import { commandText, keyValues, parseDockerfile, type Instruction } from '../dockerfile-parser.js';
import type { ConfigDomain, ConfigFile, ConfigReport } from '../types.js';

const noCheck = (): undefined => undefined;

export const dockerRootRule = defineRule<'noUser' | 'rootUser', void>({
  id: 'config/docker-runs-as-root',
  title: 'The container runs as root',
  description:
    'The final stage of the Dockerfile sets no `USER`, or sets root. A training or serving process that is ' +
    'compromised — through a malicious model file, a dependency, a notebook — then owns the container, and with ' +
    'a mounted volume, a socket or a kernel bug, the host.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:250'],
  remediation: 'Create an unprivileged user and switch to it before CMD/ENTRYPOINT: `RUN useradd --uid 10001 app` then `USER 10001`.',
  messages: {
    noUser: 'The final stage sets no USER: the container runs as root.',
    rootUser: 'The final stage switches to USER {{user}} (root).',
  },
  check: noCheck,
});

export const dockerBaseUnpinnedRule = defineRule<'latest' | 'tagOnly', void>({
  id: 'config/docker-base-unpinned',
  title: 'A base image is not pinned',
  description:
    '`FROM image` without a tag, or with `:latest`, builds on whatever the registry holds that day; a tag can be ' +
    'moved too. Only a digest (`@sha256:…`) names fixed content, so a rebuild cannot silently take a changed or ' +
    'compromised base.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:829', 'owasp-ml:ML06'],
  remediation: 'Pin by digest (`FROM python:3.11-slim@sha256:<digest>`) and let a bot (Renovate, Dependabot) propose updates.',
  messages: {
    latest: 'FROM {{image}} uses {{what}}: the build takes whatever the registry holds today.',
    tagOnly: 'FROM {{image}} is pinned by tag only; tags can be moved — add @sha256:<digest>.',
  },
  check: noCheck,
});

export const dockerSecretRule = defineRule<'literal' | 'buildArg', void>({
  id: 'config/docker-secret-in-build',
  title: 'A credential is baked into the image',
  description:
    'An `ENV` or `ARG` with a credential-like name has a literal value, or a credential is passed as a build ' +
    'argument: both end up in the image (config or layer history, readable with `docker history`) for anyone ' +
    'who can pull it.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:798', 'cwe:538'],
  remediation: 'Use BuildKit secrets (`RUN --mount=type=secret,id=hf_token …`) at build time and inject credentials at run time (orchestrator secrets), never ENV/ARG values.',
  messages: {
    literal: '{{keyword}} {{name}} sets a credential in the image.',
    buildArg: 'ARG {{name}} passes a credential as a build argument; its value is kept in the image history when a RUN uses it.',
  },
  check: noCheck,
});

export const dockerCurlPipeRule = defineRule<'pipe', void>({
  id: 'config/docker-curl-pipe-shell',
  title: 'A script downloaded at build time is run unchecked',
  description: '`curl … | sh` (or wget, or piping into python/bash) runs whatever the URL serves at build time, with no checksum or signature: the server, a CDN or anyone on the path decides what the image contains.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:494', 'owasp-ml:ML06'],
  remediation: 'Download to a file, verify its checksum (`echo "<sha256>  install.sh" | sha256sum -c`) or signature, then run it; better, install a pinned package.',
  messages: { pipe: 'RUN pipes a download into {{shell}}: the remote script runs unverified.' },
  check: noCheck,
});

export const dockerPipUnpinnedRule = defineRule<'unpinned', void>({
  id: 'config/docker-pip-unpinned',
  title: 'pip installs unpinned packages while building the image',
  description: '`RUN pip install torch transformers` takes whatever versions are newest at build time; two builds of the same Dockerfile differ, and a hijacked release goes straight into the image.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:1357', 'owasp-ml:ML06'],
  remediation: 'Install from a pinned, hashed requirements file (`pip install --require-hashes -r requirements.txt`), or pin each package (`torch==2.6.0`).',
  messages: { unpinned: 'RUN pip install {{packages}} without pinned versions.' },
  check: noCheck,
});

export const dockerAddRemoteRule = defineRule<'remote', void>({
  id: 'config/docker-add-remote',
  title: 'ADD fetches a remote URL without a checksum',
  description: '`ADD https://…` downloads at build time and trusts whatever is served; without `--checksum=sha256:…` a changed file goes into the image unnoticed.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:494'],
  remediation: 'Add `--checksum=sha256:<digest>` (BuildKit), or download with a verified checksum in a RUN step.',
  messages: { remote: 'ADD {{url}} without --checksum: the download is not verified.' },
  check: noCheck,
});

export const dockerContextSecretsRule = defineRule<'notIgnored' | 'noDockerignore', void>({
  id: 'config/docker-context-secrets',
  title: 'The whole build context, secrets included, is copied into the image',
  description:
    '`COPY . .` (or `ADD .`) copies everything in the build context that `.dockerignore` does not exclude. A `.env`, ' +
    'a key file or cloud credentials next to the Dockerfile then ship inside every image built from it.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:538', 'cwe:798'],
  remediation: 'Add a `.dockerignore` that excludes `.env*`, key files, `.git` and data, or copy only the paths the image needs.',
  messages: {
    notIgnored: '{{instruction}} copies the whole build context, and .dockerignore does not exclude {{files}}.',
    noDockerignore: '{{instruction}} copies the whole build context and there is no .dockerignore: everything next to the Dockerfile goes into the image.',
  },
  check: noCheck,
});

const SECRET_NAME = /(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(?:$|_)/i;
const NOT_SECRET_NAME = /(?:_FILE|_PATH|_DIR|_URL|_URI|_HOST|_PORT|_ID|_NAME|_TYPE|TOKENIZER\w*|_LENGTH|_LEN|_TIMEOUT)$/i;
const SENSITIVE_FILES = ['.env', '.env.local', '.env.production', 'credentials', 'credentials.json', 'id_rsa', 'id_ed25519', '.netrc', '.pypirc', 'service-account.json', 'kubeconfig', '.npmrc'];

function imageOf(instruction: Instruction, args: ReadonlyMap<string, string>): string {
  const token = instruction.args.split(/\s+/)[0] ?? '';
  return token.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?/g, (_, name: string, fallback?: string) => args.get(name) ?? fallback ?? '');
}

function checkDockerfile(file: ConfigFile, report: ConfigReport): void {
  const dockerfile = parseDockerfile(file.text);
  const at = (i: Instruction): { line: number; column: number; evidence: string } => ({ line: i.line, column: 1, evidence: file.lineText(i.line).slice(0, 200) });
  const stageNames = new Set<string>();
  const globalArgs = new Map<string, string>();
  let lastFrom: Instruction | undefined;
  let user: { name: string; at: Instruction } | undefined;
  for (const instruction of dockerfile.instructions) {
    switch (instruction.keyword) {
      case 'ARG':
        for (const { key, value } of keyValues(instruction)) {
          if (lastFrom === undefined && value !== undefined) globalArgs.set(key, value);
          if (!SECRET_NAME.test(key) || NOT_SECRET_NAME.test(key)) continue;
          if (value !== undefined && value !== '' && !/^\$/.test(value)) report(dockerSecretRule, { message: 'literal', data: { keyword: 'ARG', name: key }, line: instruction.line, column: 1, secret: value, key: `ARG ${key}` });
          else report(dockerSecretRule, { message: 'buildArg', data: { name: key }, line: instruction.line, column: 1, evidence: `ARG ${key}`, severity: 'medium', key: `ARG ${key}` });
        }
        break;
      case 'ENV':
        for (const { key, value } of keyValues(instruction)) {
          if (!SECRET_NAME.test(key) || NOT_SECRET_NAME.test(key) || value === undefined || value === '' || /^\$/.test(value)) continue;
          report(dockerSecretRule, { message: 'literal', data: { keyword: 'ENV', name: key }, line: instruction.line, column: 1, secret: value, key: `ENV ${key}` });
        }
        break;
      case 'FROM': {
        lastFrom = instruction;
        user = undefined;
        const alias = /\s+AS\s+(\S+)\s*$/i.exec(instruction.args)?.[1];
        const image = imageOf(instruction, globalArgs);
        const fromStage = stageNames.has(image.toLowerCase());
        if (alias) stageNames.add(alias.toLowerCase());
        if (image === '' || image.toLowerCase() === 'scratch' || fromStage || image.includes('@sha256:')) break;
        const lastPart = image.slice(image.lastIndexOf('/') + 1);
        const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
        if (tag === undefined || tag === 'latest') report(dockerBaseUnpinnedRule, { message: 'latest', data: { image, what: tag === undefined ? 'no tag (latest)' : ':latest' }, ...at(instruction), key: image });
        else report(dockerBaseUnpinnedRule, { message: 'tagOnly', data: { image }, ...at(instruction), severity: 'low', key: image });
        break;
      }
      case 'USER':
        user = { name: instruction.args.trim(), at: instruction };
        break;
      case 'RUN': {
        const text = commandText(instruction);
        const pipe = /\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(sh|bash|zsh|dash|ash|python3?|perl|ruby|node)\b/.exec(text);
        if (pipe) report(dockerCurlPipeRule, { message: 'pipe', data: { shell: pipe[1]! }, ...at(instruction), key: `${instruction.line}:pipe` });
        for (const command of text.split(/&&|\|\||;|\n/)) {
          const pip = /\b(?:pip3?|python3?\s+-m\s+pip|uv\s+pip)\s+install\s+(.*)$/.exec(command);
          if (!pip) continue;
          const words = pip[1]!.trim().split(/\s+/);
          if (words.some((w) => w === '-r' || w.startsWith('--requirement') || w.startsWith('-r') || w === '-c' || w.startsWith('--constraint'))) continue;
          const packages: string[] = [];
          for (let k = 0; k < words.length; k++) {
            const w = words[k]!;
            if (w.startsWith('-')) {
              if (/^(?:-i|--index-url|--extra-index-url|-f|--find-links|--target|-t|--prefix|--root|--platform|--python-version|--trusted-host)$/.test(w)) k++;
              continue;
            }
            if (w === '.' || w.startsWith('./') || w.startsWith('/') || /^[a-z+]+:\/\//.test(w) || /\.(?:whl|tar\.gz|zip)$/.test(w) || w.startsWith('$')) continue;
            if (!/(?:===?|@)/.test(w)) packages.push(w.replace(/^["']|["']$/g, ''));
          }
          if (packages.length > 0) report(dockerPipUnpinnedRule, { message: 'unpinned', data: { packages: packages.slice(0, 5).join(' ') }, ...at(instruction), key: `${packages.join(' ')}` });
        }
        break;
      }
      case 'ADD': {
        const url = /(?:^|\s)(https?:\/\/\S+)/.exec(instruction.args)?.[1];
        if (url && !instruction.flags.some((f) => f.startsWith('--checksum='))) report(dockerAddRemoteRule, { message: 'remote', data: { url: url.replace(/\/\/[^/@]*@/, '//') }, ...at(instruction), key: url });
        checkContextCopy(file, instruction, report, at);
        break;
      }
      case 'COPY':
        checkContextCopy(file, instruction, report, at);
        break;
      default:
        break;
    }
  }
  if (!lastFrom) return;
  if (!user) report(dockerRootRule, { message: 'noUser', line: lastFrom.line, column: 1, evidence: file.lineText(lastFrom.line).slice(0, 200), key: 'no-user' });
  else if (/^(?:root|0)(?::\S*)?$/.test(user.name)) report(dockerRootRule, { message: 'rootUser', data: { user: user.name }, ...at(user.at), key: 'root-user' });
}

function checkContextCopy(file: ConfigFile, instruction: Instruction, report: ConfigReport, at: (i: Instruction) => { line: number; column: number; evidence: string }): void {
  if (instruction.flags.some((f) => f.startsWith('--from='))) return;
  const parts = instruction.exec ?? instruction.args.split(/\s+/).filter(Boolean);
  const sources = parts.slice(0, -1);
  if (!sources.some((s) => s === '.' || s === './' || s === '*' || s === './*')) return;
  const ignore = file.sibling('.dockerignore');
  const present = SENSITIVE_FILES.filter((name) => file.sibling(name) !== undefined);
  const what = `${instruction.keyword} ${sources.join(' ')}`;
  if (ignore === undefined) {
    if (present.length > 0) report(dockerContextSecretsRule, { message: 'notIgnored', data: { instruction: what, files: present.join(', ') }, ...at(instruction), key: 'context' });
    else report(dockerContextSecretsRule, { message: 'noDockerignore', data: { instruction: what }, ...at(instruction), severity: 'low', key: 'context' });
    return;
  }
  const patterns = ignore.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const ignored = (name: string): boolean => {
    let result = false;
    for (const pattern of patterns) {
      const negated = pattern.startsWith('!');
      const glob = (negated ? pattern.slice(1) : pattern).replace(/^\/+/, '').replace(/\/+$/, '');
      if (picomatch(glob, { dot: true })(name) || picomatch(`**/${glob}`, { dot: true })(name)) result = !negated;
    }
    return result;
  };
  const exposed = present.filter((name) => !ignored(name));
  if (exposed.length > 0) report(dockerContextSecretsRule, { message: 'notIgnored', data: { instruction: what, files: exposed.join(', ') }, ...at(instruction), key: 'context' });
}

export const dockerfileDomain: ConfigDomain = {
  name: 'dockerfile',
  kinds: ['dockerfile'],
  rules: [dockerAddRemoteRule, dockerBaseUnpinnedRule, dockerContextSecretsRule, dockerCurlPipeRule, dockerPipUnpinnedRule, dockerRootRule, dockerSecretRule],
  check: checkDockerfile,
};
