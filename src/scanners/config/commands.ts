import { commandText, parseDockerfile } from './dockerfile-parser.js';
import type { ConfigFile } from './types.js';
import { entries, get, items, str, type YValue } from './yaml.js';

/**
 * Command lines a configuration file runs, wherever it writes them: Dockerfile RUN/CMD/ENTRYPOINT, shell
 * scripts, Makefiles and Procfiles (and, as their domains add extractors, Compose `command`, Kubernetes
 * `command`/`args`, CI `run:`/`script:`). Launch-flag rules (Jupyter, MLflow, Ray, …) read these.
 */
export interface CommandLine {
  /** One simple command's words, after the program name (`jupyter`, `lab`, `--ip=0.0.0.0`, …). */
  words: string[];
  line: number;
}

/** Shell words with quotes removed (`--token=''` → `--token=`), enough to read flags. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  const re = /(?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    words.push(m[0].replace(/'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)/g, (_, single?: string, double?: string, escaped?: string) => single ?? double ?? escaped ?? ''));
  }
  return words;
}

/** Simple commands of a shell text: split on `&&`, `||`, `;`, `|` and newlines, leading env assignments and wrappers dropped. */
export function simpleCommands(text: string, line: number): CommandLine[] {
  const out: CommandLine[] = [];
  text.split(/\n/).forEach((physical, offset) => {
    for (const part of physical.split(/&&|\|\||;|\|/)) {
      const words = shellWords(part.trim());
      while (words.length > 0 && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!) || /^(?:exec|nohup|sudo|env|time|command|uv|poetry|pipenv|conda)$/.test(words[0]!))) {
        const dropped = words.shift()!;
        if (/^(?:uv|poetry|pipenv)$/.test(dropped) && words[0] === 'run') words.shift();
        if (dropped === 'conda' && words[0] === 'run') {
          words.shift();
          while (words[0]?.startsWith('-')) words.splice(0, /^-(?:n|p)$|^--(?:name|prefix)$/.test(words[0]!) ? 2 : 1);
        }
      }
      if (words.length === 0) continue;
      // `python -m jupyter lab …` → `jupyter lab …`
      if (/^python[0-9.]*$/.test(words[0]!) && words[1] === '-m' && words[2]) words.splice(0, 2);
      out.push({ words, line: line + offset });
    }
  });
  return out;
}

export function commandLines(file: ConfigFile): CommandLine[] {
  switch (file.kind) {
    case 'dockerfile': {
      const out: CommandLine[] = [];
      for (const instruction of parseDockerfile(file.text).instructions) {
        if (instruction.keyword !== 'RUN' && instruction.keyword !== 'CMD' && instruction.keyword !== 'ENTRYPOINT') continue;
        const text = instruction.exec ? instruction.exec.map((w) => (/\s/.test(w) ? `'${w}'` : w)).join(' ') : commandText(instruction);
        // Exec form of `sh -c "…"` holds a shell text of its own.
        const shell = instruction.exec && /^(?:\/bin\/)?(?:ba)?sh$/.test(instruction.exec[0] ?? '') && instruction.exec[1] === '-c' ? instruction.exec[2] : undefined;
        for (const command of simpleCommands(shell ?? text, instruction.line)) out.push({ ...command, line: instruction.line });
        for (const body of instruction.heredocs) for (const command of simpleCommands(body, instruction.line)) out.push({ ...command, line: instruction.line });
      }
      return out;
    }
    case 'shell': {
      // Join backslash continuations, keep the first line's number; drop comments.
      const out: CommandLine[] = [];
      const lines = file.text.split(/\r?\n/);
      for (let i = 0; i < lines.length; i++) {
        const start = i;
        let text = lines[i]!;
        while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++i]!;
        if (/^\s*#/.test(text)) continue;
        const body = file.path.endsWith('Procfile') ? text.replace(/^[\w-]+:\s*/, '') : text.replace(/^\t/, '');
        out.push(...simpleCommands(body, start + 1).map((c) => ({ ...c, line: start + 1 })));
      }
      return out;
    }
    case 'compose': {
      const out: CommandLine[] = [];
      for (const doc of file.yaml ?? []) {
        for (const { value: service } of entries(get(doc.root, 'services'))) {
          const entrypoint = get(service, 'entrypoint');
          const command = get(service, 'command');
          const words = [...wordsOf(entrypoint), ...wordsOf(command)];
          const node = entrypoint ?? command;
          if (!node || words.length === 0) continue;
          // `sh -c "…"` holds a shell text of its own
          if (/^(?:\/bin\/)?(?:ba)?sh$/.test(words[0]!) && words[1] === '-c' && words[2] !== undefined) out.push(...simpleCommands(words[2], node.line).map((c) => ({ ...c, line: node.line })));
          else out.push(...simpleCommands(words.map((w) => (/\s/.test(w) ? `'${w}'` : w)).join(' '), node.line));
        }
      }
      return out;
    }
    case 'github-actions':
    case 'gitlab-ci': {
      // `run:` (GitHub) and `script:`/`before_script:`/`after_script:` (GitLab), wherever they sit.
      const out: CommandLine[] = [];
      const keys = file.kind === 'github-actions' ? ['run'] : ['script', 'before_script', 'after_script'];
      const visit = (node: YValue | undefined, depth: number): void => {
        if (!node || depth > 40) return;
        if (node.type === 'seq') for (const item of node.items) visit(item, depth + 1);
        if (node.type !== 'map') return;
        for (const e of node.entries) {
          if (!keys.includes(e.key)) {
            visit(e.value, depth + 1);
            continue;
          }
          for (const line of e.value.type === 'seq' ? e.value.items : [e.value]) {
            const text = str(line);
            if (text === undefined) continue;
            const first = line.type === 'scalar' && /^[|>]/.test(line.source) ? line.line + 1 : line.line;
            out.push(...simpleCommands(text, first));
          }
        }
      };
      for (const doc of file.yaml ?? []) visit(doc.root, 0);
      return out;
    }
    case 'kubernetes': {
      const out: CommandLine[] = [];
      const visit = (node: YValue | undefined, depth: number): void => {
        if (!node || depth > 40) return;
        if (node.type === 'seq') for (const item of node.items) visit(item, depth + 1);
        if (node.type !== 'map') return;
        const containers = get(node, 'containers');
        for (const container of items(containers)) {
          const command = get(container, 'command');
          const args = get(container, 'args');
          const words = [...wordsOf(command), ...wordsOf(args)];
          const at = command ?? args;
          if (!at || words.length === 0) continue;
          if (/^(?:\/bin\/)?(?:ba)?sh$/.test(words[0]!) && words[1] === '-c' && words[2] !== undefined) out.push(...simpleCommands(words[2], at.line).map((c) => ({ ...c, line: at.line })));
          else out.push(...simpleCommands(words.map((w) => (/\s/.test(w) ? `'${w}'` : w)).join(' '), at.line).map((c) => ({ ...c, line: at.line })));
        }
        for (const e of node.entries) if (e.key !== 'containers') visit(e.value, depth + 1);
      };
      for (const doc of file.yaml ?? []) visit(doc.root, 0);
      return out;
    }
    default:
      return [];
  }
}

/** A Compose/Kubernetes command: a list of words, or a string split like a shell would (no expansion). */
export function wordsOf(node: YValue | undefined): string[] {
  if (node === undefined) return [];
  if (node.type === 'seq') return items(node).map((i) => str(i) ?? '');
  const text = str(node);
  return text === undefined ? [] : shellWords(text);
}

/** The value of `--name=value`, `--name value` (or a short alias), or undefined when the flag is absent. */
export function flagValue(words: readonly string[], ...names: string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    for (const name of names) {
      if (word === name) return words[i + 1] ?? '';
      if (word.startsWith(`${name}=`)) return word.slice(name.length + 1);
    }
  }
  return undefined;
}

export function hasFlag(words: readonly string[], ...names: string[]): boolean {
  return words.some((w) => names.some((n) => w === n || w.startsWith(`${n}=`)));
}

/** A bind address that listens on every interface. */
export function isPublicHost(host: string | undefined): boolean {
  return host !== undefined && /^(?:0\.0\.0\.0|\*|::|\[::\])$/.test(host.trim().replace(/^https?:\/\//, '').replace(/:\d+\/?$/, ''));
}
