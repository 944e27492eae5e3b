/**
 * Who may call what, when tokens are on (MEETR_AUTH_TOKENS_FILE). The token comes as
 * `Authorization: Bearer <token>` or HTTP Basic with the token as the password (what
 * Prometheus and Grafana send). /health stays open (HAProxy checks it); telemetry is not
 * served here at all but on each process's loopback listener (telemetry-server.ts).
 */
import type { TokenHolder } from '../auth/tokens.js';
import { MeetrError } from '../errors.js';
import type { Requirement } from './route-table.js';

export interface Authenticator {
  authenticate(token: string): TokenHolder | undefined;
}

/** Why a request was refused, as counted in /metrics. */
export type AuthFailure = 'missing' | 'invalid' | 'forbidden';

/** The token an Authorization header carries, or undefined. */
export function tokenOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^\s*(bearer|basic)\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) return undefined;
  if (match[1]!.toLowerCase() === 'bearer') return match[2];
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  return password !== '' ? password : user !== '' ? user : undefined; // `curl -u TOKEN:` sends it as the user
}

/** The error for a request `holder` (undefined: no valid token) may not make; undefined when it may. */
export function refusal(
  requirement: Requirement,
  token: string | undefined,
  holder: TokenHolder | undefined,
  what: string,
): { error: MeetrError; failure: AuthFailure } | undefined {
  if (requirement.kind === 'open') return undefined;
  if (token === undefined) {
    return {
      failure: 'missing',
      error: new MeetrError(
        'unauthorized',
        `${what} needs a token: send "Authorization: Bearer <token>", or HTTP Basic with the token as the password`,
      ),
    };
  }
  if (holder === undefined)
    return { failure: 'invalid', error: new MeetrError('unauthorized', 'the token is not valid (unknown or revoked)') };
  if (requirement.kind === 'token' || holder.scope === 'admin' || holder.scope === requirement.scope) return undefined;
  return {
    failure: 'forbidden',
    error: new MeetrError(
      'forbidden',
      `token "${holder.name}" has scope ${holder.scope}; ${what} needs scope ${requirement.scope} (or admin)`,
    ),
  };
}
