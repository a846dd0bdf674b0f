import type { Position } from './types.js';

/** Offsets → 1-based lines and columns, and the first place a piece of text occurs. */
export class TextIndex {
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  positionOf(offset: number): Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const end = this.lineStarts[line] ?? this.text.length;
    return this.text.slice(start, end).replace(/\r?\n$/, '').trim();
  }

  /** The offset where a TOML/INI section header `[name]` (or `[[name]]`) starts, or -1. */
  sectionOffset(name: string, from = 0): number {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\./g, '\\s*\\.\\s*');
    const re = new RegExp(`^[ \\t]*\\[\\[?[ \\t]*${escaped}[ \\t]*\\]\\]?`, 'gm');
    re.lastIndex = from;
    return re.exec(this.text)?.index ?? -1;
  }

  /**
   * Where a dependency named `name` is written after `from`: as a quoted string that starts with the
   * name (`"requests>=2"`) or as a key (`requests = "^2"`, `"requests": "1.0"`). Falls back to `from`.
   */
  locateName(name: string, from = 0): { position: Position; text: string } {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp(`(?:["'](?:${escaped})(?=[\\s\\[\\]<>=!~;@,"'(]))|(?:^[ \\t]*(?:${escaped})[ \\t]*=)`, 'gmi');
    re.lastIndex = Math.max(0, from);
    const match = re.exec(this.text);
    const offset = match ? match.index + (match[0].length - match[0].trimStart().length) : Math.max(0, from);
    const position = this.positionOf(offset);
    return { position, text: this.lineText(position.line) };
  }
}
