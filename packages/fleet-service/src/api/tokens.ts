import { createHash, randomBytes } from 'node:crypto';
import { openFleetDatabase } from '../sqlite.js';

/** What a caller may do: viewers read, operators also run rollouts and upload bundles, admins manage tokens. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const roleAtLeast = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need);

export interface Caller {
  readonly name: string;
  readonly role: Role;
}

export interface TokenStore {
  /** A new token; only its SHA-256 is stored, so the plaintext is shown once. */
  create(name: string, role: Role, at: number): string;
  /** The caller a presented token belongs to, or undefined. */
  verify(token: string): Caller | undefined;
  count(): number;
  close(): void;
}

const TOKEN_PREFIX = 'ofs_';
const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

export function openTokenStore(path: string): TokenStore {
  const db = openFleetDatabase(path);
  db.exec(
    'CREATE TABLE IF NOT EXISTS api_token (digest TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, created_at INTEGER NOT NULL)',
  );
  const insert = db.prepare('INSERT INTO api_token (digest, name, role, created_at) VALUES (?, ?, ?, ?)');
  const find = db.prepare<[string], { name: string; role: string }>(
    'SELECT name, role FROM api_token WHERE digest = ?',
  );
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM api_token');
  return {
    create(name, role, at) {
      const token = `${TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
      insert.run(digest(token), name, role, at);
      return token;
    },
    verify(token) {
      if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
      const row = find.get(digest(token));
      return row === undefined ? undefined : { name: row.name, role: row.role as Role };
    },
    count: () => count.get()?.n ?? 0,
    close: () => void db.close(),
  };
}
