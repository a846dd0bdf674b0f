/**
 * A Dockerfile parser that reads the file the way BuildKit does: parser directives (`# escape=`), comment
 * lines, line continuations with the escape character (comment lines inside a continuation are dropped),
 * heredocs (`RUN <<EOF … EOF`, `COPY <<EOF /path`), exec form (`["a", "b"]`) and shell form, and stages.
 */

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, … */
  keyword: string;
  /** Everything after the keyword on the logical line, continuations joined with a space. */
  args: string;
  /** Flags before the arguments (`--from=build`, `--chown=1000`, `--mount=type=secret,id=x`). */
  flags: string[];
  /** The exec form's array when the arguments are a JSON array of strings. */
  exec?: string[];
  /** Heredoc bodies, in order. */
  heredocs: string[];
  line: number;
  endLine: number;
  /** Index of the build stage (FROM starts a new one). */
  stage: number;
}

export interface Dockerfile {
  instructions: Instruction[];
  /** Problems that make BuildKit refuse or misread the file. */
  problems: { message: string; line: number }[];
}

const MAX_INSTRUCTIONS = 100_000;

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split(/\r?\n/);
  const instructions: Instruction[] = [];
  const problems: Dockerfile['problems'] = [];
  let escape = '\\';
  let i = 0;
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  for (; i < lines.length; i++) {
    const directive = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(lines[i]!);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape') {
      if (directive[2] === '`' || directive[2] === '\\') escape = directive[2];
      else problems.push({ message: `invalid escape directive ${directive[2]}`, line: i + 1 });
    }
  }
  i = 0;
  let stage = -1;
  while (i < lines.length && instructions.length < MAX_INSTRUCTIONS) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    const start = i;
    let logical = '';
    let current = raw;
    for (;;) {
      const body = current.replace(/\s+$/, '');
      if (body.endsWith(escape) && i + 1 < lines.length) {
        logical += body.slice(0, -1) + ' ';
        i++;
        // Comment and empty lines inside a continuation are dropped.
        while (i < lines.length && (/^\s*#/.test(lines[i]!) || lines[i]!.trim() === '')) i++;
        if (i >= lines.length) break;
        current = lines[i]!;
        continue;
      }
      logical += body;
      break;
    }
    i++;
    const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(logical);
    if (!match) {
      problems.push({ message: `not an instruction: ${logical.trim().slice(0, 80)}`, line: start + 1 });
      continue;
    }
    const keyword = match[1]!.toUpperCase();
    let args = (match[2] ?? '').trim();
    if (keyword === 'FROM') stage++;
    const flags: string[] = [];
    while (/^--[A-Za-z-]+(?:=\S*)?(?:\s|$)/.test(args)) {
      const flag = /^(--\S+)\s*/.exec(args)!;
      flags.push(flag[1]!);
      args = args.slice(flag[0].length);
    }
    // Heredocs: `<<EOF`, `<<-EOF`, `<<"EOF"`; bodies follow the instruction line, in order.
    const heredocs: string[] = [];
    if (keyword !== 'ONBUILD') {
      const re = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
      for (let m = re.exec(args); m; m = re.exec(args)) {
        const terminator = m[3]!;
        const strip = m[1] === '-';
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const line = lines[i]!;
          i++;
          if ((strip ? line.replace(/^\t+/, '') : line) === terminator) {
            closed = true;
            break;
          }
          body.push(strip ? line.replace(/^\t+/, '') : line);
        }
        if (!closed) problems.push({ message: `heredoc ${terminator} is not closed`, line: start + 1 });
        heredocs.push(body.join('\n'));
      }
    }
    const instruction: Instruction = { keyword, args, flags, heredocs, line: start + 1, endLine: i, stage: Math.max(stage, 0) };
    if (args.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(args);
        if (Array.isArray(parsed) && parsed.every((a) => typeof a === 'string')) instruction.exec = parsed as string[];
      } catch {
        // not exec form after all: BuildKit treats it as shell form
      }
    }
    instructions.push(instruction);
  }
  if (instructions.length >= MAX_INSTRUCTIONS) problems.push({ message: `more than ${MAX_INSTRUCTIONS} instructions`, line: lines.length });
  return { instructions, problems };
}

/** The shell text an instruction runs: its shell form, its exec form joined, and its heredoc bodies. */
export function commandText(instruction: Instruction): string {
  const main = instruction.exec ? instruction.exec.join(' ') : instruction.args;
  return [main, ...instruction.heredocs].join('\n');
}

/** `ARG`/`ENV` pairs: `KEY=value KEY2="v 2"`, or the legacy `ENV KEY value`. */
export function keyValues(instruction: Instruction): { key: string; value?: string }[] {
  const args = instruction.args;
  if (instruction.keyword === 'ENV' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([\s\S]*)$/.exec(args);
    if (legacy) return [{ key: legacy[1]!, value: legacy[2]!.trim() }];
  }
  const out: { key: string; value?: string }[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_.-]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g;
  for (let m = re.exec(args); m; m = re.exec(args)) {
    const value = m[2];
    out.push(value === undefined ? { key: m[1]! } : { key: m[1]!, value: value.replace(/^(["'])([\s\S]*)\1$/, '$2') });
  }
  return out;
}
