import type { AccountRecord, GrantRecord, TokenRecord, UsageRecord } from '../store/metadata.js';
import { ROLE_ACTIONS, isRole, type Action } from './authz.js';

/**
 * The credential hygiene report (`custody token report`): live tokens unused for N days, tokens that
 * live long or reach everything (every project or every action), tokens of disabled accounts that
 * were never revoked, and service accounts holding rights they never use.
 */

export interface HygieneOptions {
  now: number;
  /** A live token unused (or never used) for this many days is reported. */
  unusedDays: number;
  /** A token whose lifetime exceeds this many days is long-lived. */
  maxLifetimeDays: number;
}

export interface TokenFinding {
  id: string;
  account: string;
  project: string | null;
  actions: string[] | null;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  why: string;
}

export interface TokenReport {
  generatedAt: string;
  options: { unusedDays: number; maxLifetimeDays: number };
  unused: TokenFinding[];
  longLived: TokenFinding[];
  broad: TokenFinding[];
  disabledAccounts: TokenFinding[];
  unusedRights: { account: string; project: string; role: string; unusedActions: string[]; lastUsedAt: string | null }[];
  summary: { liveTokens: number; findings: number };
}

const DAY = 86_400_000;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function buildTokenReport(input: { tokens: readonly TokenRecord[]; accounts: readonly AccountRecord[]; grants: readonly GrantRecord[]; usage: readonly UsageRecord[] }, options: HygieneOptions): TokenReport {
  const { now } = options;
  const live = input.tokens.filter((t) => t.revokedAt === null && t.expiresAt > now);
  const finding = (t: TokenRecord, why: string): TokenFinding => ({ id: t.id, account: t.account, project: t.project, actions: t.actions, createdAt: new Date(t.createdAt).toISOString(), expiresAt: new Date(t.expiresAt).toISOString(), lastUsedAt: iso(t.lastUsedAt), why });
  const disabled = new Set(input.accounts.filter((a) => a.disabledAt !== null).map((a) => a.name));
  const report: TokenReport = {
    generatedAt: new Date(now).toISOString(),
    options: { unusedDays: options.unusedDays, maxLifetimeDays: options.maxLifetimeDays },
    unused: [],
    longLived: [],
    broad: [],
    disabledAccounts: [],
    unusedRights: [],
    summary: { liveTokens: live.length, findings: 0 },
  };
  for (const t of live) {
    if (disabled.has(t.account)) report.disabledAccounts.push(finding(t, 'the account is disabled but the token was never revoked'));
    const last = t.lastUsedAt ?? t.createdAt;
    if (now - last >= options.unusedDays * DAY) report.unused.push(finding(t, t.lastUsedAt === null ? `never used in ${Math.floor((now - t.createdAt) / DAY)} day(s)` : `unused for ${Math.floor((now - last) / DAY)} day(s)`));
    const lifetime = t.expiresAt - t.createdAt;
    if (lifetime > options.maxLifetimeDays * DAY) report.longLived.push(finding(t, `lives ${Math.round(lifetime / DAY)} day(s)`));
    if (t.project === null || t.actions === null) report.broad.push(finding(t, [t.project === null ? 'every project' : '', t.actions === null ? 'every action' : ''].filter((x) => x !== '').join(' and ')));
  }
  const used = new Map<string, UsageRecord>();
  for (const u of input.usage) used.set(`${u.account}\n${u.project}\n${u.action}`, u);
  const kinds = new Map(input.accounts.map((a) => [a.name, a.kind] as const));
  for (const g of input.grants) {
    if (kinds.get(g.account) !== 'service' || !isRole(g.role)) continue;
    const rights = ROLE_ACTIONS[g.role];
    let lastUsed: number | null = null;
    const unusedActions: Action[] = [];
    for (const action of rights) {
      const u = used.get(`${g.account}\n${g.project}\n${action}`);
      if (u && now - u.lastUsedAt < options.unusedDays * DAY) lastUsed = Math.max(lastUsed ?? 0, u.lastUsedAt);
      else unusedActions.push(action);
    }
    if (unusedActions.length > 0) report.unusedRights.push({ account: g.account, project: g.project, role: g.role, unusedActions, lastUsedAt: iso(lastUsed) });
  }
  report.summary.findings = report.unused.length + report.longLived.length + report.broad.length + report.disabledAccounts.length + report.unusedRights.length;
  return report;
}
