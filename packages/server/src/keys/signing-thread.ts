import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../support/start-worker.ts';
import { SIGNERS } from './jws-signers.ts';
import type { SigningAnswer as Answer, SigningBatch } from './signing-worker.ts';

/** How to seal the finished token: with which key, bound to which context (sealed-box.ts). */
export interface Sealing {
  key: Buffer;
  context: string;
}

/** A signature, and the sealed token (signing input '.' signature) when sealing was asked for. */
export interface SignedAndSealed {
  signature: string;
  sealed: string;
}

type Job = { alg: string; input: string; key: KeyObject; sealing: Sealing | undefined; resolve: (answer: SignedAndSealed) => void; reject: (error: Error) => void };

/** The index of `item` in `list`, appending it if it is not there yet. */
function indexIn<T>(list: T[], item: T): number {
  const index = list.indexOf(item);
  return index >= 0 ? index : list.push(item) - 1;
}

/**
 * Most jobs per message. A batch is answered only once all of it is signed; at 30–50 µs a signature a
 * batch of 64 held its first token about 2.5 ms for its last one, and the event loop sat idle
 * meanwhile. Batches of 8 keep the answers flowing: in scenario (c) of `npm run bench`, switching
 * between the two in one process, 64 → 8 raised minted tokens/s by about a quarter.
 */
const MAX_BATCH = 8;

/**
 * Signs (and seals, for the token cache) on a worker thread of its own, in batches. Minting a token is
 * one signature, 20–50 µs of CPU; on the event loop that would cap minting at one core's worth.
 * libuv's thread pool (what crypto.sign with a callback uses) takes it off the loop but costs a
 * wake-up, a lock and a completion callback per signature; under load that overhead (futex calls,
 * context switches) cost more than the signature. Here the signatures requested in one turn of the
 * event loop travel in a few messages (MAX_BATCH each) and come back the same way.
 * docs/decisions.md has the measurements.
 */
export class SigningThread {
  private worker: Worker | undefined;
  /** Workers started and not yet exited (a closed one counts until its 'exit' event). */
  private readonly running = new Set<Worker>();
  private queued: Job[] = [];
  private flushScheduled = false;
  /** Batches sent and not yet answered, oldest first: the thread answers in order. */
  private readonly sent: Job[][] = [];

  /** The base64url signature of `input` with `key` under `alg` (RFC 7515 compact serialization). */
  async sign(alg: string, input: string, key: KeyObject): Promise<string> {
    return (await this.enqueue(alg, input, key, undefined)).signature;
  }

  /**
   * Like sign(), and also seals the finished token `input.signature` with `sealing`: a token that is
   * stored (the token cache) is sealed where it is signed, so the event loop does neither.
   */
  signAndSeal(alg: string, input: string, key: KeyObject, sealing: Sealing): Promise<SignedAndSealed> {
    return this.enqueue(alg, input, key, sealing);
  }

  private enqueue(alg: string, input: string, key: KeyObject, sealing: Sealing | undefined): Promise<SignedAndSealed> {
    if (!Object.hasOwn(SIGNERS, alg)) return Promise.reject(new TypeError(`unsupported signing algorithm ${alg}`));
    return new Promise((resolve, reject) => {
      this.queued.push({ alg, input, key, sealing, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After this turn of the event loop, so that every mint of the turn joins the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Stops the thread and waits until it has exited; jobs still owed fail. A later sign() starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker) this.forget(worker, new Error('the signing thread was closed'));
    await Promise.all([...this.running].map((running) => new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      void running.terminate();
    })));
  }

  /** How many worker threads this has running: 0 before the first signature and after close(). */
  get liveThreads(): number {
    return this.running.size;
  }

  private flush(): void {
    this.flushScheduled = false;
    const jobs = this.queued;
    this.queued = [];
    let worker: Worker;
    try {
      worker = this.worker ??= this.start();
    } catch (error) {
      for (const job of jobs) job.reject(error as Error);
      return;
    }
    for (let start = 0; start < jobs.length; start += MAX_BATCH) {
      const batch = jobs.slice(start, start + MAX_BATCH);
      // The keys of the batch, each once (almost always one of each: the active signing key and the
      // token cache's seal key).
      const keys: KeyObject[] = [];
      const sealKeys: Buffer[] = [];
      const keyIndexes = batch.map((job) => indexIn(keys, job.key));
      const sealKeyIndexes = batch.map((job) => (job.sealing ? indexIn(sealKeys, job.sealing.key) : -1));
      const sealContexts = batch.map((job) => job.sealing?.context ?? '');
      if (this.sent.length === 0) worker.ref();
      this.sent.push(batch);
      worker.postMessage({ keys, keyIndexes, algs: batch.map((job) => job.alg), inputs: batch.map((job) => job.input), sealKeys, sealKeyIndexes, sealContexts } satisfies SigningBatch);
    }
  }

  private start(): Worker {
    const worker = startWorker('signing-worker', import.meta.url);
    this.running.add(worker);
    worker.on('message', ({ signatures, sealed, errors }: Answer) => {
      const batch = this.sent.shift();
      // The thread keeps the process alive only while it owes answers.
      if (this.sent.length === 0) worker.unref();
      if (!batch) return;
      const failed = new Map(errors);
      for (let i = 0; i < batch.length; i++) {
        const message = failed.get(i);
        if (message === undefined) batch[i]!.resolve({ signature: signatures[i]!, sealed: sealed[i]! });
        else batch[i]!.reject(new Error(`signing failed: ${message}`));
      }
    });
    // A thread that dies fails what it owed; the next signature starts a new one.
    worker.on('error', (error) => this.forget(worker, error));
    worker.on('exit', (code) => {
      this.running.delete(worker);
      this.forget(worker, new Error(`the signing thread stopped (exit code ${code})`));
    });
    worker.unref();
    return worker;
  }

  private forget(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const batch of this.sent.splice(0)) for (const job of batch) job.reject(error);
  }
}

/** What signs: one signing thread or several. */
export type Signatures = Pick<SigningThread, 'sign' | 'signAndSeal' | 'close' | 'liveThreads'>;

/**
 * Several signing threads; each signature goes to the next one in turn. The composition root
 * (runtime.ts) creates one pool per runtime, hands it to the key store, and closes it on stop().
 */
export class SigningThreads implements Signatures {
  private readonly threads: SigningThread[];
  private next = 0;

  constructor(count: number) {
    this.threads = Array.from({ length: count }, () => new SigningThread());
  }

  private pick(): SigningThread {
    const thread = this.threads[this.next]!;
    this.next = (this.next + 1) % this.threads.length;
    return thread;
  }

  sign(alg: string, input: string, key: KeyObject): Promise<string> {
    return this.pick().sign(alg, input, key);
  }

  signAndSeal(alg: string, input: string, key: KeyObject, sealing: Sealing): Promise<SignedAndSealed> {
    return this.pick().signAndSeal(alg, input, key, sealing);
  }

  /** Stops every thread and waits until each has exited. */
  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.close()));
  }

  /** Worker threads running across the pool (each starts at its first signature). */
  get liveThreads(): number {
    let count = 0;
    for (const thread of this.threads) count += thread.liveThreads;
    return count;
  }
}

/**
 * A server's signing threads: as many as there are cores, up to four. Two threads on a 2-vCPU
 * machine minted about 5% more than one in scenario (c); a thread costs nothing until it first
 * signs (it starts then).
 */
export function createSigningThreads(): SigningThreads {
  return new SigningThreads(Math.min(4, availableParallelism()));
}
