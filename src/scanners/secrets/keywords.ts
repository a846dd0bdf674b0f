/** Keywords that start the assignment detector (matched ignoring case): names holding secrets contain one. */
export const ASSIGNMENT_KEYWORDS = ['pass', 'pwd', 'pw', 'psw', 'pasw', 'pssw', 'secret', 'token', 'key', 'auth', 'cred', 'bearer', 'identified', 'verifier'] as const;

/** True when text[start, end) (a name, at most 128 characters) contains an assignment keyword. */
export function holdsAssignmentKeyword(text: string, start: number, end: number): boolean {
  if (end - start > 128) return false;
  const name = text.slice(start, end).toLowerCase();
  for (const keyword of ASSIGNMENT_KEYWORDS) if (name.includes(keyword)) return true;
  return false;
}
