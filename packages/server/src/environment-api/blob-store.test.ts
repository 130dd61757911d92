import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { createDiskBlobStore, validateBlobKey } from './blob-store.ts';

describe('createDiskBlobStore', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });
  const store = () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-blobs-'));
    roots.push(root);
    return { root, blobs: createDiskBlobStore(path.join(root, 'blobs')) };
  };

  it('puts, gets, replaces and deletes a blob under <root>/<key>, leaving no temporary file', async () => {
    const { root, blobs } = store();
    await blobs.put('demo/media/med_1', Buffer.from('first'), 'image/png');
    await blobs.put('demo/media/med_1', Buffer.from('second'), 'image/png');
    expect(await text((await blobs.get('demo/media/med_1'))!)).toBe('second');
    expect(fs.readdirSync(path.join(root, 'blobs', 'demo', 'media'))).toEqual(['med_1']);
    expect(fs.statSync(path.join(root, 'blobs', 'demo', 'media', 'med_1')).mode & 0o777).toBe(0o600);
    await blobs.delete('demo/media/med_1');
    expect(await blobs.get('demo/media/med_1')).toBeNull();
    await blobs.delete('demo/media/med_1'); // deleting a missing key is fine
  });

  it('refuses keys that could leave the root', async () => {
    const { blobs } = store();
    for (const key of ['../etc/passwd', 'demo/../../x', '/abs', 'demo//x', 'Demo/x', '', 'a/b/c/d/e/f/g/h/i']) {
      expect(() => validateBlobKey(key), key).toThrow(TypeError);
      await expect(blobs.put(key, Buffer.from('x'), 'image/png'), key).rejects.toThrow(TypeError);
      await expect(blobs.deletePrefix(key), key).rejects.toThrow(TypeError);
    }
  });

  it('deletes everything under a prefix and nothing beside it', async () => {
    const { root, blobs } = store();
    for (const key of ['gone/media/med_1', 'gone/fonts/fnt_1', 'gone-1/media/med_2']) await blobs.put(key, Buffer.from(key), 'image/png');
    await blobs.deletePrefix('gone');
    expect(fs.readdirSync(path.join(root, 'blobs'))).toEqual(['gone-1']);
    expect(await text((await blobs.get('gone-1/media/med_2'))!)).toBe('gone-1/media/med_2');
    await blobs.deletePrefix('gone'); // nothing left: fine
  });
});
