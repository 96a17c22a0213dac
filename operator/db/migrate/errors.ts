// How a run fails: the error and its exit code, the text that describes a
// failure, and the scrubbing that keeps credentials out of it.
import pg from 'pg';
import type { Finding, Phase } from '../lint.js';
import { lineIndex, offsetOfPosition } from '../sql.js';
import type { Connection } from './types.js';

/** Exit code 3: refused before anything ran; 1: failed while running. */
export class MigrateError extends Error {
  override name = 'MigrateError';
  constructor(
    message: string,
    readonly exitCode: 1 | 3,
    readonly findings: readonly Finding[] = [],
  ) {
    super(message);
  }
}

export function lintRefusal(phase: Phase, findings: Finding[]): MigrateError {
  const [first] = findings;
  const more = findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
  const where = first ? `${first.file}:${first.line} ${first.rule}: ${first.message}` : '';
  return new MigrateError(`refused by the ${phase} lint: ${where}${more}`, 3, findings);
}

/** ` line N` for a PostgreSQL error that carries a position, else ''. */
export function errorLine(fileSql: string, err: unknown, offset: number, sent: string): string {
  const position = err instanceof pg.DatabaseError ? Number(err.position) : NaN;
  if (!(position > 0)) return '';
  return ` line ${lineIndex(fileSql)(offset + offsetOfPosition(sent, position))}`;
}

export function describeError(err: unknown): string {
  if (err instanceof pg.DatabaseError) {
    const parts = [err.message];
    if (err.code) parts.push(`(SQLSTATE ${err.code})`);
    if (err.detail) parts.push(`detail: ${err.detail}`);
    if (err.hint) parts.push(`hint: ${err.hint}`);
    // Errors inside a DO block or function say where in their own body.
    if (err.where) parts.push(`context: ${err.where.split('\n')[0] ?? ''}`);
    return parts.join(' ').replace(/\s*\n\s*/g, ' ');
  }
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map((e: unknown) => describeError(e)).join('; ');
  }
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

/**
 * Removes credentials from text that may reach a log, an exception or the
 * Kubernetes termination message: the user-info of any URL, and the
 * password itself wherever it appears.
 */
export function scrubberFor(connection: Connection): (text: string) => string {
  const secrets = new Set<string>();
  const password =
    typeof connection === 'string'
      ? /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]*)@/i.exec(connection)?.[1]
      : typeof connection.password === 'string'
        ? connection.password
        : undefined;
  if (typeof connection !== 'string' && typeof connection.connectionString === 'string') {
    const inner = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]*)@/i.exec(connection.connectionString)?.[1];
    if (inner) secrets.add(inner);
  }
  if (password) secrets.add(password);
  for (const secret of [...secrets]) {
    try {
      secrets.add(decodeURIComponent(secret));
    } catch {
      // Not percent-encoded; the raw form is already listed.
    }
  }
  // Short strings would blank out ordinary words; a password that short is no secret anyway.
  const literal = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@');
    for (const secret of literal) out = out.split(secret).join('***');
    return out;
  };
}
