import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { requireScopes } from '@latchkey/resource/fastify';
import { validateDisplayName } from '../../platform/environments.ts';
import { PlatformError } from '../../platform/errors.ts';
import { newId } from '../../support/ids.ts';
import type { Clock } from '../../support/clock.ts';
import { ASSET_KINDS, formatBytes, mediaTypeOf, type AssetKindSpec } from '../asset-kinds.ts';
import type { BlobStore } from '../blob-store.ts';
import { ItemNotFound, UnsupportedMediaType } from '../errors.ts';
import { AssetDto, EnvironmentParams, errorResponses, ItemParams, MAX_NAME_LENGTH, PageQuery, ProblemSchema, toAssetDto } from '../schemas.ts';
import type { EnvironmentApiStorage } from '../storage.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Environment API: GET routes a page on an allowed origin may call cross-origin (CORS). */
    browserReadable?: boolean;
    /** Environment API: what a 413 on this route says. */
    tooLargeMessage?: string;
  }
}

/** What the asset routes need. */
export interface AssetRouteDeps {
  storage: EnvironmentApiStorage;
  blobs: BlobStore;
  clock: Clock;
  /** Base of the download URLs in responses (the issuer). */
  baseUrl: string;
}

/**
 * True when an `If-None-Match` header matches the ETag `"<sha256>"` (RFC 9110 §13.1.2: weak
 * comparison, so `W/"…"` matches too, and `*` matches any current representation).
 */
export function matchesIfNoneMatch(header: string | undefined, sha256: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === `"${sha256}"`;
  });
}

// An SVG can carry script; served from the API's origin it must never run there.
const SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7E]|["\\]/g, '_');
  return `inline; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Route-level onRequest of an upload: the Content-Type must be one the kind accepts, checked before the body is read. */
function requireAcceptedType(spec: AssetKindSpec) {
  const accepted = Object.keys(spec.contentTypes);
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const type = mediaTypeOf(request.headers['content-type']);
    if (!accepted.includes(type)) throw new UnsupportedMediaType(type, accepted, `${spec.kind} uploads`);
  };
}

/**
 * Media and fonts: binary upload (raw body, Content-Type checked against an allow-list and the
 * file's signature, size-limited, SHA-256 returned and used as the ETag), list, download with
 * `If-None-Match`, delete. GETs are browser-readable for allowed origins (browser-guard.ts).
 */
export async function assetRoutes(app: FastifyInstance, { storage, blobs, clock, baseUrl }: AssetRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  for (const spec of Object.values(ASSET_KINDS)) {
    const { kind } = spec;
    const base = `/api/v1/environments/:environmentId/${kind}`;
    const tags = [`Environment API: ${kind === 'media' ? 'Media' : 'Fonts'}`];
    const read = requireScopes(spec.readScope);
    const write = requireScopes(spec.writeScope);
    const noun = spec.kind === 'media' ? 'media' : 'font';

    api.get(
      base,
      {
        onRequest: read,
        config: { browserReadable: true },
        schema: {
          tags,
          summary: `List ${kind === 'media' ? 'media files' : 'fonts'}, oldest first`,
          params: EnvironmentParams,
          querystring: PageQuery,
          response: { 200: Type.Object({ [kind]: Type.Array(AssetDto), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses },
        },
      },
      async (request) => {
        const result = await storage.assets.list(request.params.environmentId, kind, { limit: request.query.limit ?? 50, after: request.query.cursor });
        return { [kind]: result.items.map((asset) => toAssetDto(asset, baseUrl)), nextCursor: result.nextCursor };
      },
    );

    api.post(
      base,
      {
        onRequest: [write, requireAcceptedType(spec)],
        bodyLimit: spec.maxBytes,
        config: { tooLargeMessage: `${spec.noun} uploads may be at most ${formatBytes(spec.maxBytes)}` },
        schema: {
          tags,
          summary: `Upload a ${spec.noun}: the raw bytes as the body, with Content-Type one of ${Object.keys(spec.contentTypes).join(', ')}; at most ${formatBytes(spec.maxBytes)}`,
          params: EnvironmentParams,
          querystring: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'a name to show; defaults to the id' })) }),
          response: { 201: AssetDto, ...errorResponses, 413: ProblemSchema, 415: ProblemSchema },
        },
      },
      async (request, reply) => {
        const { environmentId } = request.params;
        const body = request.body as unknown;
        if (!Buffer.isBuffer(body) || body.length === 0) throw new PlatformError('empty_upload', 400, `the body must be the ${spec.noun}'s bytes; it was empty`);
        const contentType = mediaTypeOf(request.headers['content-type']);
        if (!spec.contentTypes[contentType]!(body)) {
          throw new PlatformError('content_type_mismatch', 415, `the body is not a ${contentType} file (its first bytes do not match that format)`);
        }
        const at = clock.now();
        const id = newId(spec.idPrefix, at);
        const name = request.query.name === undefined ? id : validateDisplayName('name', request.query.name, MAX_NAME_LENGTH);
        const sha256 = createHash('sha256').update(body).digest('hex');
        const blobKey = `${environmentId}/${kind}/${id}`;
        const asset = { id, environmentId, kind, name, contentType, size: body.length, sha256, blobKey, createdBy: request.accessToken.client_id, createdAt: at };
        // Bytes first, then the row: a failure leaves at worst an unreferenced file, never a row without bytes.
        await blobs.put(blobKey, body, contentType);
        try {
          await storage.assets.insert(asset);
        } catch (error) {
          await blobs.delete(blobKey).catch(() => undefined);
          throw error;
        }
        return reply.code(201).header('location', `/api/v1/environments/${environmentId}/${kind}/${id}`).header('etag', `"${sha256}"`).send(toAssetDto(asset, baseUrl));
      },
    );

    api.get(
      `${base}/:id`,
      {
        onRequest: read,
        config: { browserReadable: true },
        schema: {
          tags,
          summary: `Download a ${spec.noun} (its Content-Type, ETag = SHA-256; If-None-Match answers 304)`,
          params: ItemParams,
          response: {
            // Per content type, for the OpenAPI document; a stream body is never serialised.
            200: {
              description: 'The bytes, with the Content-Type they were uploaded with',
              content: Object.fromEntries(Object.keys(spec.contentTypes).map((type) => [type, { schema: { type: 'string', format: 'binary' } }])),
            },
            304: Type.Null({ description: 'Not modified (If-None-Match matched the ETag)' }),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const { environmentId, id } = request.params;
        const asset = await storage.assets.get(environmentId, kind, id);
        if (asset === null) throw new ItemNotFound(noun, id, environmentId);
        // The token is in a header, so shared caches must not keep the bytes; the browser revalidates by ETag.
        reply.header('etag', `"${asset.sha256}"`).header('cache-control', 'private, no-cache').header('x-content-type-options', 'nosniff');
        if (matchesIfNoneMatch(request.headers['if-none-match'], asset.sha256)) return reply.code(304).send(null);
        const stream = await blobs.get(asset.blobKey);
        if (stream === null) throw new Error(`blob ${asset.blobKey} of ${kind} ${id} is missing from the blob store`);
        if (asset.contentType === 'image/svg+xml') reply.header('content-security-policy', SVG_POLICY);
        return reply
          .header('content-type', asset.contentType)
          .header('content-length', String(asset.size))
          .header('content-disposition', contentDisposition(asset.name))
          .send(stream);
      },
    );

    api.delete(
      `${base}/:id`,
      {
        onRequest: write,
        schema: { tags, summary: `Delete a ${spec.noun}`, params: ItemParams, response: { 204: Type.Null(), ...errorResponses } },
      },
      async (request, reply) => {
        const { environmentId, id } = request.params;
        const deleted = await storage.assets.delete(environmentId, kind, id);
        if (deleted === null) throw new ItemNotFound(noun, id, environmentId);
        // The row is gone, so the bytes are unreachable; a failure here only leaves a stray file.
        await blobs.delete(deleted.blobKey).catch((error: unknown) => request.log.warn({ err: error, blobKey: deleted.blobKey }, 'could not delete a blob'));
        return reply.code(204).send(null);
      },
    );
  }
}
