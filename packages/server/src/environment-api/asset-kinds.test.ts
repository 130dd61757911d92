import { describe, expect, it } from 'vitest';
import { ALL_ASSET_CONTENT_TYPES, ASSET_KINDS, formatBytes, mediaTypeOf } from './asset-kinds.ts';
import { matchesIfNoneMatch } from './routes/assets.ts';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

describe('asset signatures', () => {
  const { media, fonts } = ASSET_KINDS;
  it('recognise each accepted format by its first bytes', () => {
    expect(media.contentTypes['image/png']!(bytes([0x89], 'PNG\r\n\x1a\n', [0, 0]))).toBe(true);
    expect(media.contentTypes['image/jpeg']!(bytes([0xff, 0xd8, 0xff, 0xdb]))).toBe(true);
    expect(media.contentTypes['image/gif']!(bytes('GIF89a'))).toBe(true);
    expect(media.contentTypes['image/webp']!(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toBe(true);
    expect(media.contentTypes['image/avif']!(bytes([0, 0, 0, 28], 'ftypavif'))).toBe(true);
    expect(media.contentTypes['image/svg+xml']!(bytes('\uFEFF<?xml version="1.0"?><!-- logo --><!DOCTYPE svg><svg xmlns="x">'))).toBe(true);
    expect(fonts.contentTypes['font/woff2']!(bytes('wOF2'))).toBe(true);
    expect(fonts.contentTypes['font/woff']!(bytes('wOFF'))).toBe(true);
    expect(fonts.contentTypes['font/ttf']!(bytes([0, 1, 0, 0]))).toBe(true);
    expect(fonts.contentTypes['font/otf']!(bytes('OTTO'))).toBe(true);
  });

  it('refuse bytes of another format, truncated headers and script dressed as SVG', () => {
    expect(media.contentTypes['image/png']!(bytes([0xff, 0xd8, 0xff]))).toBe(false);
    expect(media.contentTypes['image/png']!(bytes([0x89], 'PN'))).toBe(false);
    expect(media.contentTypes['image/webp']!(bytes('RIFF', [1, 2, 3, 4], 'WAVE'))).toBe(false);
    expect(media.contentTypes['image/svg+xml']!(bytes('<html><svg>'))).toBe(false);
    expect(media.contentTypes['image/svg+xml']!(bytes('<script>alert(1)</script>'))).toBe(false);
    expect(fonts.contentTypes['font/woff2']!(bytes('wOFF'))).toBe(false);
    expect(fonts.contentTypes['font/ttf']!(bytes(''))).toBe(false);
  });

  it('keep media and fonts apart, with their limits', () => {
    expect(Object.keys(media.contentTypes).every((type) => type.startsWith('image/'))).toBe(true);
    expect(Object.keys(fonts.contentTypes).every((type) => type.startsWith('font/'))).toBe(true);
    expect(ALL_ASSET_CONTENT_TYPES).toHaveLength(10);
    expect([formatBytes(media.maxBytes), formatBytes(fonts.maxBytes), formatBytes(2048), formatBytes(1536)]).toEqual(['10 MiB', '5 MiB', '2 KiB', '1536 bytes']);
  });
});

describe('mediaTypeOf', () => {
  it('drops parameters and case', () => {
    expect(mediaTypeOf('Image/PNG; charset=binary')).toBe('image/png');
    expect(mediaTypeOf(undefined)).toBe('');
  });
});

describe('matchesIfNoneMatch (RFC 9110 §13.1.2)', () => {
  const sha = 'ab'.repeat(32);
  it('matches the strong and weak forms, lists and *', () => {
    for (const header of [`"${sha}"`, `W/"${sha}"`, `"x", "${sha}"`, '*']) expect(matchesIfNoneMatch(header, sha), header).toBe(true);
  });
  it('does not match other tags, an unquoted hash or no header', () => {
    for (const header of ['"x"', sha, '']) expect(matchesIfNoneMatch(header, sha), header).toBe(false);
    expect(matchesIfNoneMatch(undefined, sha)).toBe(false);
  });
});
