// A Client Secret travels from the response that created it (create or rotate) to the screen that
// shows it once, in memory only: never in storage, the URL or history state. The integration page
// takes it on arrival; after that only that page's state holds it until the admin dismisses it.

/** Why a secret is being shown. */
export type SecretReason = 'created' | 'rotated';

/** A secret waiting to be shown. */
export interface RevealedSecret {
  clientId: string;
  secret: string;
  reason: SecretReason;
}

const pending = new Map<string, RevealedSecret>();

/** Leaves `secret` for the integration page of `clientId`. */
export function handOffSecret(revealed: RevealedSecret): void {
  pending.set(revealed.clientId, revealed);
}

/** The secret left for `clientId`, if any (still there until `forgetHandOff`). */
export function peekHandOff(clientId: string): RevealedSecret | null {
  return pending.get(clientId) ?? null;
}

/** Drops the secret left for `clientId` once the page holds it. */
export function forgetHandOff(clientId: string): void {
  pending.delete(clientId);
}
