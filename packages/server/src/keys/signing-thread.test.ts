import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { SigningThread, SigningThreads } from './signing-thread.ts';
import { open } from './sealed-box.ts';

const es256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed25519 = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** Checks a base64url JWS signature of `input` the way a verifier would (RFC 7518 §3). */
function verifies(alg: string, input: string, signature: string, publicKey: KeyObject): boolean {
  const bytes = Buffer.from(input);
  const sig = Buffer.from(signature, 'base64url');
  if (alg === 'ES256') return verify('sha256', bytes, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  if (alg === 'RS256') return verify('sha256', bytes, publicKey, sig);
  return verify(null, bytes, publicKey, sig);
}

describe('SigningThread', () => {
  it('signs a burst larger than one batch, with several keys and algorithms, each answer for its own input', async () => {
    const thread = new SigningThread();
    const keys = [
      { alg: 'ES256', pair: es256 },
      { alg: 'EdDSA', pair: ed25519 },
      { alg: 'RS256', pair: rsa },
    ];
    const jobs = Array.from({ length: 200 }, (_, i) => ({ ...keys[i % 3]!, input: `header.payload-${i}` }));
    const signatures = await Promise.all(jobs.map((job) => thread.sign(job.alg, job.input, job.pair.privateKey)));
    jobs.forEach((job, i) => expect(verifies(job.alg, job.input, signatures[i]!, job.pair.publicKey)).toBe(true));
    // Answers are not interchangeable: a signature checked against its neighbour's input fails.
    expect(verifies('ES256', jobs[3]!.input, signatures[0]!, es256.publicKey)).toBe(false);
    await thread.close();
  });

  it('fails only the job whose key does not fit its algorithm', async () => {
    const thread = new SigningThread();
    const good = thread.sign('ES256', 'a.b', es256.privateKey);
    const bad = thread.sign('RS256', 'a.b', ed25519.privateKey);
    const alsoGood = thread.sign('EdDSA', 'c.d', ed25519.privateKey);
    await expect(bad).rejects.toThrow(/signing failed/);
    expect(verifies('ES256', 'a.b', await good, es256.publicKey)).toBe(true);
    expect(verifies('EdDSA', 'c.d', await alsoGood, createPublicKey(ed25519.privateKey))).toBe(true);
    await thread.close();
  });

  it('seals each finished token with its own context when asked, next to jobs that only sign', async () => {
    const thread = new SigningThread();
    const sealKey = Buffer.alloc(32, 9);
    const [first, plain, second] = await Promise.all([
      thread.signAndSeal('ES256', 'h.p1', es256.privateKey, { key: sealKey, context: 'token:one' }),
      thread.sign('ES256', 'h.p2', es256.privateKey),
      thread.signAndSeal('EdDSA', 'h.p3', ed25519.privateKey, { key: sealKey, context: 'token:two' }),
    ]);
    expect(open(sealKey, first.sealed, 'token:one')).toBe(`h.p1.${first.signature}`);
    expect(open(sealKey, second.sealed, 'token:two')).toBe(`h.p3.${second.signature}`);
    expect(verifies('ES256', 'h.p2', plain, es256.publicKey)).toBe(true);
    // Bound to its row: another context does not open it.
    expect(() => open(sealKey, first.sealed, 'token:two')).toThrow();
    expect(first.sealed).not.toContain(first.signature);
    await thread.close();
  });

  it('refuses an algorithm it does not implement without starting a thread', async () => {
    const thread = new SigningThread();
    await expect(thread.sign('HS256', 'a.b', es256.privateKey)).rejects.toThrow(TypeError);
    // Names of Object.prototype members are not algorithms either.
    await expect(thread.sign('constructor', 'a.b', es256.privateKey)).rejects.toThrow(TypeError);
    await expect(thread.sign('__proto__', 'a.b', es256.privateKey)).rejects.toThrow(TypeError);
  });

  it('fails what it owed when closed, and starts a new thread for the next signature', async () => {
    const thread = new SigningThread();
    await thread.sign('ES256', 'warm.up', es256.privateKey);
    const owed = Promise.allSettled(Array.from({ length: 20 }, () => thread.sign('RS256', 'x.y', rsa.privateKey)));
    // Let the batch leave for the thread, then close before it can answer all of it.
    await new Promise((resolve) => setImmediate(resolve));
    await thread.close();
    const settled = await owed;
    expect(settled.some((result) => result.status === 'rejected')).toBe(true);
    expect(verifies('ES256', 'after.close', await thread.sign('ES256', 'after.close', es256.privateKey), es256.publicKey)).toBe(true);
    await thread.close();
  });
});

describe('SigningThreads', () => {
  it('spreads a burst over its threads and gives every caller the answer for its own input', async () => {
    const threads = new SigningThreads(3);
    const inputs = Array.from({ length: 90 }, (_, i) => `header.payload-${i}`);
    const sealKey = Buffer.alloc(32, 5);
    const answers = await Promise.all(inputs.map((input, i) => threads.signAndSeal('ES256', input, es256.privateKey, { key: sealKey, context: `token:${i}` })));
    answers.forEach((answer, i) => {
      expect(verifies('ES256', inputs[i]!, answer.signature, es256.publicKey)).toBe(true);
      expect(open(sealKey, answer.sealed, `token:${i}`)).toBe(`${inputs[i]}.${answer.signature}`);
    });
    expect(verifies('ES256', 'a.b', await threads.sign('ES256', 'a.b', es256.privateKey), es256.publicKey)).toBe(true);
    await threads.close();
  });

  it('starts a thread only when it first signs, and after close() every thread has exited', async () => {
    const threads = new SigningThreads(2);
    expect(threads.liveThreads).toBe(0);
    await Promise.all(Array.from({ length: 4 }, (_, i) => threads.sign('ES256', `h.p${i}`, es256.privateKey)));
    expect(threads.liveThreads).toBe(2);
    // liveThreads counts a worker until its 'exit' event: 0 means each thread has really stopped.
    await threads.close();
    expect(threads.liveThreads).toBe(0);
    // Closing twice is harmless.
    await threads.close();
    expect(threads.liveThreads).toBe(0);
  });
});
