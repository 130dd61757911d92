import { Type, type Static } from '@sinclair/typebox';
import type { AssetRecord, DocumentRecord, DocumentSummary } from './storage.ts';

// Wire schemas of the Environment API, written once: Fastify validates requests and serialises
// responses with them, and @fastify/swagger turns them into the OpenAPI document. Times are ISO 8601.

const isoTime = (ms: number) => new Date(ms).toISOString();

/** Longest document name, characters. */
export const MAX_NAME_LENGTH = 200;

import { ProblemSchema } from '../support/problem.ts';

export { ProblemSchema };

/** RFC 6750 body of the token checks made by @latchkey/resource (401, and 403 insufficient_scope). */
export const BearerErrorSchema = Type.Object(
  // All optional so the serialiser keeps the middleware's key order (it writes required keys first).
  { error: Type.Optional(Type.String()), error_description: Type.Optional(Type.String()), scope: Type.Optional(Type.String()) },
  { description: 'RFC 6750 error, with a WWW-Authenticate: Bearer challenge' },
);

/** Error responses every route documents. */
export const errorResponses = {
  400: Type.Union([ProblemSchema, BearerErrorSchema], { description: 'Invalid request (problem), or a token sent in the query string (RFC 6750)' }),
  401: BearerErrorSchema,
  403: Type.Union([ProblemSchema, BearerErrorSchema], { description: 'Token of another environment, write token from a browser (problem), or a missing scope (RFC 6750)' }),
  404: ProblemSchema,
  503: BearerErrorSchema,
};

export const EnvironmentParams = Type.Object({ environmentId: Type.String({ minLength: 1, maxLength: 63 }) });
export const ItemParams = Type.Object({ environmentId: Type.String({ minLength: 1, maxLength: 63 }), id: Type.String({ minLength: 1, maxLength: 64 }) });

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
});

const Name = Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH });
const Content = Type.Object({}, { additionalProperties: true, description: 'The document: any JSON object' });

export const DocumentBody = Type.Object({ name: Name, content: Content }, { additionalProperties: false });
export const CreateProjectBody = Type.Object(
  {
    name: Name,
    templateId: Type.String({ minLength: 1, maxLength: 64, description: 'The template whose content the project starts from' }),
  },
  { additionalProperties: false },
);

const Owner = Type.Object(
  {
    clientId: Type.String({ description: 'Client ID of the integration that created the project' }),
    name: Type.Union([Type.String(), Type.Null()], { description: "That integration's name; null once it is deleted" }),
  },
  { description: 'The integration that owns the project' },
);

const summaryFields = {
  id: Type.String(),
  name: Type.String(),
  size: Type.Integer({ description: 'Bytes of the content (UTF-8 JSON)' }),
  createdBy: Type.String({ description: 'Client ID of the integration that created it' }),
  updatedBy: Type.String({ description: 'Client ID of the integration that changed it last' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
};

export const TemplateSummaryDto = Type.Object(summaryFields);
export const TemplateDto = Type.Object({ ...summaryFields, content: Content });
const projectFields = { ...summaryFields, templateId: Type.Union([Type.String(), Type.Null()]), owner: Owner };
export const ProjectSummaryDto = Type.Object(projectFields);
export const ProjectDto = Type.Object({ ...projectFields, content: Content });

export const AssetDto = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('media'), Type.Literal('fonts')]),
  name: Type.String(),
  contentType: Type.String(),
  size: Type.Integer({ description: 'Bytes' }),
  sha256: Type.String({ description: 'SHA-256 of the bytes, hex' }),
  etag: Type.String({ description: 'The ETag downloads carry: the SHA-256 in quotes' }),
  url: Type.String({ description: 'Where to download it (GET with a bearer token)' }),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

/** A template as sent: with its content when given a full record. */
export function toTemplateDto(document: DocumentRecord): Static<typeof TemplateDto>;
export function toTemplateDto(document: DocumentSummary): Static<typeof TemplateSummaryDto>;
export function toTemplateDto(document: DocumentSummary | DocumentRecord): Static<typeof TemplateSummaryDto> {
  return {
    id: document.id,
    name: document.name,
    size: document.size,
    createdBy: document.createdBy,
    updatedBy: document.updatedBy,
    createdAt: isoTime(document.createdAt),
    updatedAt: isoTime(document.updatedAt),
    ...('content' in document ? { content: document.content } : {}),
  };
}

/** A project as sent: a template's fields plus where it came from and who owns it. */
export function toProjectDto(document: DocumentRecord): Static<typeof ProjectDto>;
export function toProjectDto(document: DocumentSummary): Static<typeof ProjectSummaryDto>;
export function toProjectDto(document: DocumentSummary | DocumentRecord): Static<typeof ProjectSummaryDto> {
  return { ...toTemplateDto(document as DocumentSummary), ...('content' in document ? { content: document.content } : {}), templateId: document.templateId, owner: { clientId: document.createdBy, name: document.ownerName } };
}

/** An asset's metadata as sent; `baseUrl` is the issuer, so `url` works from anywhere. */
export function toAssetDto(asset: AssetRecord, baseUrl: string): Static<typeof AssetDto> {
  return {
    id: asset.id,
    kind: asset.kind,
    name: asset.name,
    contentType: asset.contentType,
    size: asset.size,
    sha256: asset.sha256,
    etag: `"${asset.sha256}"`,
    url: `${baseUrl}/api/v1/environments/${asset.environmentId}/${asset.kind}/${asset.id}`,
    createdBy: asset.createdBy,
    createdAt: isoTime(asset.createdAt),
  };
}
