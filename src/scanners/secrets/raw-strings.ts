/**
 * Where a document of code holds multi-line raw strings: Go raw strings and JavaScript/TypeScript template literals,
 * both between backticks. Test code keeps whole configuration files in them (`conf := \`…password: s3cret…\``), where
 * an unquoted `name: value` is a literal, not an expression. One forward pass of a small lexer (comments, quoted
 * strings, backtick strings), resumed from the last position asked about; a position behind it restarts from the
 * nearest checkpoint, so that every query costs at most CHECKPOINT characters more than the forward pass.
 */

const CODE = 0;
const LINE_COMMENT = 1;
const BLOCK_COMMENT = 2;
const DOUBLE = 3;
const SINGLE = 4;
const BACKTICK = 5;

const CHECKPOINT = 256;

/** Extensions of languages whose backticks delimit a multi-line string. */
const BACKTICK_LANGUAGES = /\.(?:go|js|mjs|cjs|jsx|ts|mts|cts|tsx)$/i;

export function hasBacktickStrings(baseName: string): boolean {
  return BACKTICK_LANGUAGES.test(baseName);
}

/** True for JavaScript and TypeScript, whose template literals take backslash escapes. */
export function hasEscapedBackticks(baseName: string): boolean {
  return !/\.go$/i.test(baseName);
}

export class RawStringIndex {
  /** Lexer state, and where the open backtick string started, at each multiple of CHECKPOINT reached so far. */
  private readonly checkpoints: number[] = [CODE];
  private readonly openedAt: number[] = [-1];
  private pos = 0;
  private state = CODE;
  private opened = -1;

  /** `escapes`: a backslash escapes the next character in the backtick string (JavaScript; Go raw strings have none). */
  constructor(
    private readonly text: string,
    private readonly escapes = false,
  ) {}

  /**
   * True when `at` is inside a backtick string opened before `lineStart` (the start of its line): a backtick string
   * on one line reads like any quoted string of code.
   */
  inMultilineBacktick(at: number, lineStart: number): boolean {
    if (at < this.pos) {
      const k = Math.floor(at / CHECKPOINT);
      this.pos = k * CHECKPOINT;
      this.state = this.checkpoints[k]!;
      this.opened = this.openedAt[k]!;
    }
    this.advance(at);
    return this.state === BACKTICK && this.opened < lineStart;
  }

  private advance(to: number): void {
    const text = this.text;
    let { pos, state, opened } = this;
    while (pos < to) {
      if (pos % CHECKPOINT === 0) {
        this.checkpoints[pos / CHECKPOINT] = state;
        this.openedAt[pos / CHECKPOINT] = opened;
      }
      const c = text.charCodeAt(pos);
      const next = text.charCodeAt(pos + 1);
      let step = 1;
      switch (state) {
        case CODE:
          if (c === 47 /* / */ && next === 47) state = LINE_COMMENT;
          else if (c === 47 && next === 42 /* * */) {
            state = BLOCK_COMMENT;
            step = 2;
          } else if (c === 34) state = DOUBLE;
          else if (c === 39) state = SINGLE;
          else if (c === 96) {
            state = BACKTICK;
            opened = pos;
          }
          break;
        case LINE_COMMENT:
          if (c === 10) state = CODE;
          break;
        case BLOCK_COMMENT:
          if (c === 42 && next === 47) {
            state = CODE;
            step = 2;
          }
          break;
        case DOUBLE:
        case SINGLE:
          // Quoted strings end at their quote, or at the end of the line (a stray apostrophe cannot run on).
          if (c === 92 /* \ */ && next !== 10) step = 2;
          else if (c === 10 || c === (state === DOUBLE ? 34 : 39)) state = CODE;
          break;
        case BACKTICK:
          if (c === 92 && this.escapes) step = 2;
          else if (c === 96) state = CODE;
          break;
      }
      // A two-character step (an escape, a comment marker) over a checkpoint records the state it lands in.
      if (step === 2 && (pos + 1) % CHECKPOINT === 0) {
        this.checkpoints[(pos + 1) / CHECKPOINT] = state;
        this.openedAt[(pos + 1) / CHECKPOINT] = opened;
      }
      pos += step;
    }
    this.pos = pos;
    this.state = state;
    this.opened = opened;
  }
}
