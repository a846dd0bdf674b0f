/**
 * Character statistics used to tell random secrets from words, names and structured values.
 * All functions are linear in the input and allocation-free apart from a fixed table.
 */

const counts = new Uint32Array(256);

/** Shannon entropy in bits per character (0 for the empty string). Characters above 255 share a bucket. */
export function shannonEntropy(value: string): number {
  const n = value.length;
  if (n === 0) return 0;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i);
    counts[code > 255 ? 255 : code]! += 1;
  }
  let bits = 0;
  for (let c = 0; c < 256; c++) {
    const k = counts[c]!;
    if (k === 0) continue;
    const p = k / n;
    bits -= p * Math.log2(p);
  }
  return bits;
}

export interface CharClasses {
  lower: boolean;
  upper: boolean;
  digit: boolean;
  symbol: boolean;
  /** How many of the four classes occur. */
  count: number;
}

export function charClasses(value: string): CharClasses {
  let lower = false;
  let upper = false;
  let digit = false;
  let symbol = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
    else symbol = true;
  }
  return { lower, upper, digit, symbol, count: Number(lower) + Number(upper) + Number(digit) + Number(symbol) };
}

/** Length of the longest run of one repeated character. */
export function longestRun(value: string): number {
  let best = value.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    if (value.charCodeAt(i) === value.charCodeAt(i - 1)) {
      run += 1;
      if (run > best) best = run;
    } else run = 1;
  }
  return best;
}

/** Length of the longest run of consecutive characters stepping by +1 or -1 (`abcdef`, `654321`). */
export function longestSequence(value: string): number {
  let best = value.length > 0 ? 1 : 0;
  let up = 1;
  let down = 1;
  for (let i = 1; i < value.length; i++) {
    const d = value.charCodeAt(i) - value.charCodeAt(i - 1);
    up = d === 1 ? up + 1 : 1;
    down = d === -1 ? down + 1 : 1;
    if (up > best) best = up;
    if (down > best) best = down;
  }
  return best;
}

/** The smallest period p ≤ maxPeriod such that the whole value repeats with period p, or 0. */
export function shortPeriod(value: string, maxPeriod = 4): number {
  const n = value.length;
  for (let p = 1; p <= maxPeriod && p * 2 <= n; p++) {
    let ok = true;
    for (let i = p; i < n; i++) {
      if (value.charCodeAt(i) !== value.charCodeAt(i - p)) {
        ok = false;
        break;
      }
    }
    if (ok) return p;
  }
  return 0;
}

const seen = new Uint8Array(256);

/** How many distinct characters `value` holds (characters above 255 share one bucket). Allocation-free. */
export function distinctChars(value: string): number {
  seen.fill(0);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const c = code > 255 ? 255 : code;
    if (seen[c] === 0) {
      seen[c] = 1;
      n++;
    }
  }
  return n;
}

export function isHex(value: string): boolean {
  return /^[0-9a-fA-F]+$/.test(value);
}

/**
 * A rough "is this random?" score in [0, 1]: entropy relative to the best the value's alphabet and
 * length allow. Random base62 of 32+ characters scores about 0.9; English words and identifiers
 * about 0.5–0.7; repeated or sequential strings near 0.
 */
export function randomness(value: string): number {
  const n = value.length;
  if (n < 2) return 0;
  const classes = charClasses(value);
  const alphabet = (classes.lower ? 26 : 0) + (classes.upper ? 26 : 0) + (classes.digit ? 10 : 0) + (classes.symbol ? 16 : 0);
  // Hex strings use 16 symbols even though they contain lowercase letters and digits.
  const size = isHex(value) && !(classes.lower && classes.upper) ? 16 : alphabet;
  const ceiling = Math.log2(Math.min(Math.max(size, 2), n));
  return ceiling <= 0 ? 0 : Math.min(1, shannonEntropy(value) / ceiling);
}

/**
 * Consonant pairs that English words use (within a syllable or across one: `str`, `ngth`, `mpl`, `ckw`). Vowels
 * (`aeiouy`) may be followed by anything, and anything by a vowel; `q` only by `u`.
 */
const CONSONANT_FOLLOWERS: Readonly<Record<string, string>> = {
  b: 'bhjlrst', c: 'chklqrst', d: 'bdfghjlmnprstw', f: 'flrst', g: 'ghlmnrst', h: 'blmnrst', j: '', k: 'bcdfghklmnprstw',
  l: 'bcdfghklmnpstvz', m: 'blmnps', n: 'bcdfghjklmnpqrstvwxz', p: 'hlprst', q: '', r: 'bcdfghklmnprstvw',
  s: 'cfhklmnpqstw', t: 'bcfhlmnprstwz', v: '', w: 'bdhklnrs', x: 'chpt', z: 'z',
};
const VOWELS = 'aeiouy';
/** Four-consonant runs that English spells (`length`, `instrument`, `tempts`); longer runs never. */
const LONG_RUNS = new Set(['ngth', 'nstr', 'mpts', 'ngst', 'rstr', 'ndst', 'ntst', 'nstw', 'sphr', 'rthw', 'tchw', 'ckst', 'rkfl']);

/**
 * True when a run of lower-case letters reads like an English word or a piece of one (`password`, `wrong`,
 * `favorite`, `allauth`), false when it reads like random letters (`nhwwmd`, `vkb`, `bfzjwti`): every
 * consonant pair is one English uses, there is a vowel, and no run of consonants is longer than English spells.
 * Runs shorter than three letters count as words (`my`, `db`).
 */
export function isWordLike(run: string): boolean {
  const n = run.length;
  if (n < 3) return true;
  let vowels = 0;
  let consonantRun = 0;
  for (let i = 0; i < n; i++) {
    const c = run[i]!;
    if (VOWELS.includes(c)) {
      vowels++;
      consonantRun = 0;
      continue;
    }
    const next = run[i + 1];
    if (c === 'q' && next !== undefined && next !== 'u') return false;
    // A doubled consonant counts once (`passphrase`, `jazzband`).
    if (run[i - 1] !== c) consonantRun++;
    if (consonantRun === 4 && !LONG_RUNS.has(run.slice(i - 3, i + 1))) return false;
    if (consonantRun > 4) return false;
    if (next !== undefined && !VOWELS.includes(next) && !(CONSONANT_FOLLOWERS[c] ?? '').includes(next)) return false;
  }
  return vowels > 0;
}

/** True when every letter run of `value` (split on anything else, case folded) reads like a word. */
export function isWordyText(value: string): boolean {
  for (const run of value.toLowerCase().split(/[^a-z]+/)) if (run !== '' && !isWordLike(run)) return false;
  return true;
}
