import type { AssetKind } from './storage.ts';

/** What distinguishes media from fonts: scopes, size limit, accepted content types. */
export interface AssetKindSpec {
  kind: AssetKind;
  /** Singular, for messages. */
  noun: string;
  /** Prefix of asset ids. */
  idPrefix: string;
  readScope: string;
  writeScope: string;
  maxBytes: number;
  /** Accepted media types, each with a check that the bytes really are of that type. */
  contentTypes: Readonly<Record<string, (bytes: Buffer) => boolean>>;
}

const MiB = 1024 * 1024;

const startsWith = (bytes: Buffer, signature: readonly number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((byte, i) => bytes[offset + i] === byte);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

// An SVG is text: allow a BOM, an XML declaration, comments and a doctype before the root element.
function looksLikeSvg(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 4096).toString('utf8').replace(/^\uFEFF/, '');
  return /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/i.test(head);
}

/**
 * Media (images for the editor's media connector) and fonts (for its font connector). A declared
 * content type must match the file's signature (magic bytes), so a script cannot be uploaded as
 * "image/png" and later served as one.
 */
export const ASSET_KINDS: Readonly<Record<AssetKind, AssetKindSpec>> = {
  media: {
    kind: 'media',
    noun: 'media file',
    idPrefix: 'med',
    readScope: 'media:read',
    writeScope: 'media:write',
    maxBytes: 10 * MiB,
    contentTypes: {
      'image/png': (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      'image/jpeg': (b) => startsWith(b, [0xff, 0xd8, 0xff]),
      'image/gif': (b) => startsWith(b, ascii('GIF87a')) || startsWith(b, ascii('GIF89a')),
      'image/webp': (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8),
      'image/avif': (b) => startsWith(b, ascii('ftyp'), 4) && (startsWith(b, ascii('avif'), 8) || startsWith(b, ascii('avis'), 8)),
      'image/svg+xml': looksLikeSvg,
    },
  },
  fonts: {
    kind: 'fonts',
    noun: 'font',
    idPrefix: 'fnt',
    readScope: 'fonts:read',
    writeScope: 'fonts:write',
    maxBytes: 5 * MiB,
    contentTypes: {
      'font/woff2': (b) => startsWith(b, ascii('wOF2')),
      'font/woff': (b) => startsWith(b, ascii('wOFF')),
      'font/ttf': (b) => startsWith(b, [0x00, 0x01, 0x00, 0x00]) || startsWith(b, ascii('true')),
      'font/otf': (b) => startsWith(b, ascii('OTTO')),
    },
  },
};

/** Every content type any asset kind accepts (for the body parser). */
export const ALL_ASSET_CONTENT_TYPES: readonly string[] = Object.values(ASSET_KINDS).flatMap((spec) => Object.keys(spec.contentTypes));

/** The media type of a Content-Type header, lower-cased, without parameters; '' when absent. */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** Bytes as a human reads them (10 MiB, 512 KiB). */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
