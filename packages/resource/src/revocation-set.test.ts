import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRevocationEntry, RevocationSet } from './revocation-set.ts';
import type { RevocableClaims, RevocationEntry } from './revocation-set.ts';

// Small id and time spaces so that generated claims and entries often collide.
const ids = fc.constantFrom('a', 'b', 'c', 'd');
const seconds = fc.integer({ min: 1000, max: 1020 });

const entryArbitrary: fc.Arbitrary<RevocationEntry> = fc.oneof(
  fc.record({ type: fc.constant('token' as const), jti: ids, expiresAt: seconds }),
  fc.record({ type: fc.constant('client' as const), clientId: ids, notBefore: seconds, expiresAt: seconds }),
  fc.record({ type: fc.constant('environment' as const), environmentId: ids, notBefore: seconds, expiresAt: seconds }),
);

const claimsArbitrary: fc.Arbitrary<RevocableClaims> = fc.record(
  { jti: ids, client_id: ids, iat: seconds, environment: ids },
  { requiredKeys: ['jti', 'client_id', 'iat'] },
);

/** The protocol's rule, read literally over the list of entries: the reference the set must agree with. */
function revokedByAny(entries: readonly RevocationEntry[], claims: RevocableClaims): boolean {
  return entries.some((entry) => {
    switch (entry.type) {
      case 'token':
        return entry.jti === claims.jti;
      case 'client':
        return entry.clientId === claims.client_id && claims.iat < entry.notBefore;
      case 'environment':
        return entry.environmentId === claims.environment && claims.iat < entry.notBefore;
    }
  });
}

function setOf(entries: readonly RevocationEntry[]): RevocationSet {
  const set = new RevocationSet();
  for (const entry of entries) set.apply(entry);
  return set;
}

describe('RevocationSet', () => {
  it('answers exactly as the protocol rule over every entry applied', () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { maxLength: 30 }), fc.array(claimsArbitrary, { maxLength: 20 }), (entries, claims) => {
        const set = setOf(entries);
        for (const claim of claims) expect(set.isRevoked(claim)).toBe(revokedByAny(entries, claim));
      }),
    );
  });

  it('gives the same answers and size whatever the order and repetition of the entries', () => {
    fc.assert(
      fc.property(
        fc.array(entryArbitrary, { minLength: 1, maxLength: 30 }),
        // Another delivery of the same entries: a random order (sort keys), then random repeats.
        fc.array(fc.double({ noNaN: true }), { minLength: 30, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(claimsArbitrary, { maxLength: 20 }),
        (entries, sortKeys, repeats, claims) => {
          const shuffled = entries
            .map((entry, index) => ({ entry, key: sortKeys[index] as number }))
            .sort((x, y) => x.key - y.key)
            .map(({ entry }) => entry);
          const repeated = repeats.map((index) => entries[index % entries.length] as RevocationEntry);
          const a = setOf(entries);
          const b = setOf([...repeated, ...shuffled, ...repeated]);
          expect(b.size).toBe(a.size);
          for (const claim of claims) expect(b.isRevoked(claim)).toBe(a.isRevoked(claim));
        },
      ),
    );
  });

  it('never refuses, by a client or environment entry, a token issued at or after its notBefore', () => {
    fc.assert(
      fc.property(
        fc.array(entryArbitrary.filter((entry) => entry.type !== 'token'), { maxLength: 30 }),
        claimsArbitrary,
        (entries, claims) => {
          const set = setOf(entries);
          const cutoffs = entries
            .filter((entry) => (entry.type === 'client' ? entry.clientId === claims.client_id : entry.environmentId === claims.environment))
            .map((entry) => (entry as { notBefore: number }).notBefore);
          const issuedAfterAll = { ...claims, iat: Math.max(claims.iat, ...cutoffs) };
          expect(set.isRevoked(issuedAfterAll)).toBe(false);
        },
      ),
    );
  });

  it('forgets exactly the entries whose expiresAt has passed, and nothing that still covers a live token', () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { maxLength: 30 }), seconds, fc.array(claimsArbitrary, { maxLength: 20 }), (entries, now, claims) => {
        const set = setOf(entries);
        set.prune(now);
        // Per key the latest expiresAt wins, so an entry survives when any of its deliveries is still live.
        const live = entries.filter((entry) => entries.some((other) => sameKey(entry, other) && other.expiresAt > now));
        const reference = setOf(live);
        expect(set.size).toBe(reference.size);
        for (const claim of claims) expect(set.isRevoked(claim)).toBe(reference.isRevoked(claim));
      }),
    );
  });

  it('moves version on every change and only then', () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { maxLength: 30 }), seconds, (entries, now) => {
        const set = new RevocationSet();
        for (const entry of entries) {
          const before = set.version;
          const changed = set.apply(entry);
          expect(set.version).toBe(changed ? before + 1 : before);
          expect(set.apply(entry)).toBe(false); // a duplicate changes nothing
        }
        const before = set.version;
        const removed = set.prune(now);
        expect(set.version > before).toBe(removed > 0);
      }),
    );
  });

  it('keeps the highest notBefore and the latest expiresAt of a client', () => {
    const set = new RevocationSet();
    set.apply({ type: 'client', clientId: 'lkc_1', notBefore: 200, expiresAt: 900 });
    set.apply({ type: 'client', clientId: 'lkc_1', notBefore: 100, expiresAt: 1000 });
    expect(set.size).toBe(1);
    expect(set.isRevoked({ jti: 'x', client_id: 'lkc_1', iat: 199 })).toBe(true);
    expect(set.isRevoked({ jti: 'x', client_id: 'lkc_1', iat: 200 })).toBe(false);
    set.prune(999);
    expect(set.isRevoked({ jti: 'x', client_id: 'lkc_1', iat: 199 })).toBe(true);
    set.prune(1000);
    expect(set.size).toBe(0);
  });

  it('treats ids as plain strings, __proto__ included', () => {
    const set = new RevocationSet();
    set.apply({ type: 'token', jti: '__proto__', expiresAt: 10 });
    set.apply({ type: 'environment', environmentId: 'constructor', notBefore: 5, expiresAt: 10 });
    expect(set.isRevoked({ jti: '__proto__', client_id: 'c', iat: 1 })).toBe(true);
    expect(set.isRevoked({ jti: 'toString', client_id: 'c', iat: 1, environment: 'constructor' })).toBe(true);
    expect(set.isRevoked({ jti: 'toString', client_id: 'c', iat: 1, environment: 'hasOwnProperty' })).toBe(false);
  });

  it('refuses malformed entries with TypeError', () => {
    const set = new RevocationSet();
    for (const bad of [
      null,
      { type: 'token', jti: '', expiresAt: 10 },
      { type: 'token', jti: 'a', expiresAt: 1.5 },
      { type: 'token', jti: 'a', expiresAt: '10' },
      { type: 'client', clientId: 'a', expiresAt: 10 },
      { type: 'environment', environmentId: 'a', notBefore: -1, expiresAt: 10 },
      { type: 'integration', clientId: 'a', notBefore: 1, expiresAt: 10 },
    ]) {
      expect(isRevocationEntry(bad)).toBe(false);
      expect(() => set.apply(bad as RevocationEntry)).toThrow(TypeError);
    }
    expect(set.version).toBe(0);
  });

  it('is always live as a source', () => {
    const set = new RevocationSet();
    set.apply({ type: 'token', jti: 'a', expiresAt: 10 });
    expect(set.status()).toMatchObject({ state: 'live', stale: false, entries: 1 });
  });
});

function sameKey(a: RevocationEntry, b: RevocationEntry): boolean {
  if (a.type === 'token' && b.type === 'token') return a.jti === b.jti;
  if (a.type === 'client' && b.type === 'client') return a.clientId === b.clientId;
  if (a.type === 'environment' && b.type === 'environment') return a.environmentId === b.environmentId;
  return false;
}
