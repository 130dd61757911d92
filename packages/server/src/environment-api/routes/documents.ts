import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireScopes } from '@latchkey/resource/fastify';
import { validateDisplayName } from '../../platform/environments.ts';
import { PlatformError } from '../../platform/errors.ts';
import { newId } from '../../support/ids.ts';
import type { Clock } from '../../support/clock.ts';
import { mediaTypeOf } from '../asset-kinds.ts';
import { ItemNotFound, TooLarge, UnsupportedMediaType } from '../errors.ts';
import {
  CreateProjectBody,
  DocumentBody,
  EnvironmentParams,
  errorResponses,
  ItemParams,
  MAX_NAME_LENGTH,
  PageQuery,
  ProjectDto,
  ProjectSummaryDto,
  TemplateDto,
  TemplateSummaryDto,
  toProjectDto,
  toTemplateDto,
} from '../schemas.ts';
import type { DocumentKind, DocumentRepository, EnvironmentApiStorage } from '../storage.ts';

/** Largest document content, bytes of UTF-8 JSON. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Request body limit of document writes: the content plus room for the name and JSON framing. */
export const DOCUMENT_BODY_LIMIT = MAX_DOCUMENT_BYTES + 16 * 1024;

type ItemParamsType = { environmentId: string; id: string };
type DocumentBodyType = Static<typeof DocumentBody>;

/** What the document routes need. */
export interface DocumentRouteDeps {
  storage: EnvironmentApiStorage;
  clock: Clock;
}

/** Route-level onRequest: JSON bodies only, checked before the body is read. */
export async function requireJsonBody(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const type = mediaTypeOf(request.headers['content-type']);
  if (type !== 'application/json') throw new UnsupportedMediaType(type, ['application/json'], 'documents');
}

function serialiseContent(content: Record<string, unknown>): string {
  const json = JSON.stringify(content);
  if (Buffer.byteLength(json) > MAX_DOCUMENT_BYTES) throw new TooLarge('document content', MAX_DOCUMENT_BYTES);
  return json;
}

const SPECS: Record<DocumentKind, { noun: 'template' | 'project'; prefix: string; tag: string }> = {
  templates: { noun: 'template', prefix: 'tpl', tag: 'Templates' },
  projects: { noun: 'project', prefix: 'prj', tag: 'Projects' },
};

/**
 * Templates and projects: JSON documents with a name, CRUD under
 * `/api/v1/environments/:environmentId/{templates,projects}`. A project is created from a
 * template (its content is copied) and is owned by the integration whose token created it.
 */
export async function documentRoutes(app: FastifyInstance, { storage, clock }: DocumentRouteDeps): Promise<void> {
  // Plain route generics rather than the TypeBox type provider: one loop serves two resources whose
  // response types differ, which the provider cannot express; the schemas still validate and serialise.
  const api = app;

  for (const kind of ['templates', 'projects'] as const) {
    const spec = SPECS[kind];
    const repository: DocumentRepository = storage[kind];
    const toDto = kind === 'templates' ? toTemplateDto : toProjectDto;
    const Summary = kind === 'templates' ? TemplateSummaryDto : ProjectSummaryDto;
    const Full = kind === 'templates' ? TemplateDto : ProjectDto;
    const base = `/api/v1/environments/:environmentId/${kind}`;
    const read = requireScopes(`${kind}:read`);
    const write = requireScopes(`${kind}:write`);
    const tags = [`Environment API: ${spec.tag}`];

    const requireDocument = async (environmentId: string, id: string) => {
      const document = await repository.get(environmentId, id);
      if (document === null) throw new ItemNotFound(spec.noun, id, environmentId);
      return document;
    };

    api.get<{ Params: ItemParamsType; Querystring: { limit?: number; cursor?: string; owner?: string } }>(
      base,
      {
        onRequest: read,
        schema: {
          tags,
          summary: `List ${kind}, oldest first${kind === 'projects' ? ', with their owners' : ''} (without content)`,
          params: EnvironmentParams,
          querystring:
            kind === 'projects'
              ? Type.Intersect([PageQuery, Type.Object({ owner: Type.Optional(Type.String({ maxLength: 100, description: 'only projects of this Client ID' })) })])
              : PageQuery,
          response: { 200: Type.Object({ [kind]: Type.Array(Summary), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses },
        },
      },
      async (request) => {
        const query = request.query;
        // Only the projects' schema declares `owner`: for templates it is an unknown parameter,
        // unvalidated (any shape, an array when repeated), and must not reach the query.
        const createdBy = kind === 'projects' ? query.owner : undefined;
        const result = await repository.list(request.params.environmentId, { limit: query.limit ?? 50, after: query.cursor, createdBy });
        return { [kind]: result.items.map(toDto), nextCursor: result.nextCursor };
      },
    );

    api.get<{ Params: ItemParamsType }>(
      `${base}/:id`,
      {
        onRequest: read,
        schema: { tags, summary: `Get one ${spec.noun} with its content`, params: ItemParams, response: { 200: Full, ...errorResponses } },
      },
      async (request) => toDto(await requireDocument(request.params.environmentId, request.params.id)),
    );

    api.put<{ Params: ItemParamsType; Body: DocumentBodyType }>(
      `${base}/:id`,
      {
        onRequest: [write, requireJsonBody],
        bodyLimit: DOCUMENT_BODY_LIMIT,
        schema: { tags, summary: `Replace a ${spec.noun}'s name and content`, params: ItemParams, body: DocumentBody, response: { 200: Full, ...errorResponses } },
      },
      async (request) => {
        const { environmentId, id } = request.params;
        const updated = await repository.update(environmentId, id, {
          name: validateDisplayName('name', request.body.name, MAX_NAME_LENGTH),
          contentJson: serialiseContent(request.body.content),
          updatedBy: request.accessToken.client_id,
          at: clock.now(),
        });
        if (updated === null) throw new ItemNotFound(spec.noun, id, environmentId);
        return toDto(updated);
      },
    );

    api.delete<{ Params: ItemParamsType }>(
      `${base}/:id`,
      {
        onRequest: write,
        schema: { tags, summary: `Delete a ${spec.noun}`, params: ItemParams, response: { 204: Type.Null(), ...errorResponses } },
      },
      async (request, reply) => {
        const { environmentId, id } = request.params;
        if (!(await repository.delete(environmentId, id))) throw new ItemNotFound(spec.noun, id, environmentId);
        return reply.code(204).send(null);
      },
    );
  }

  // Creation differs: a template is written as sent, a project is made from a template.
  api.post<{ Params: ItemParamsType; Body: DocumentBodyType }>(
    '/api/v1/environments/:environmentId/templates',
    {
      onRequest: [requireScopes('templates:write'), requireJsonBody],
      bodyLimit: DOCUMENT_BODY_LIMIT,
      schema: {
        tags: ['Environment API: Templates'],
        summary: 'Create a template',
        params: EnvironmentParams,
        body: DocumentBody,
        response: { 201: TemplateDto, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { environmentId } = request.params;
      const at = clock.now();
      const created = await storage.templates.insert({
        id: newId(SPECS.templates.prefix, at),
        environmentId,
        name: validateDisplayName('name', request.body.name, MAX_NAME_LENGTH),
        contentJson: serialiseContent(request.body.content),
        createdBy: request.accessToken.client_id,
        at,
      });
      return reply.code(201).header('location', `/api/v1/environments/${environmentId}/templates/${created.id}`).send(toTemplateDto(created));
    },
  );

  api.post<{ Params: ItemParamsType; Body: Static<typeof CreateProjectBody> }>(
    '/api/v1/environments/:environmentId/projects',
    {
      // Reading the template is part of the job, so both scopes are needed.
      onRequest: [requireScopes('projects:write', 'templates:read'), requireJsonBody],
      schema: {
        tags: ['Environment API: Projects'],
        summary: "Create a project from a template (the template's content is copied); the calling integration owns it",
        params: EnvironmentParams,
        body: CreateProjectBody,
        response: { 201: ProjectDto, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { environmentId } = request.params;
      const name = validateDisplayName('name', request.body.name, MAX_NAME_LENGTH);
      const template = await storage.templates.get(environmentId, request.body.templateId);
      if (template === null) {
        throw new PlatformError('template_not_found', 400, `template '${request.body.templateId.slice(0, 64)}' does not exist in environment ${environmentId}`, 'templateId');
      }
      const at = clock.now();
      const created = await storage.projects.insert({
        id: newId(SPECS.projects.prefix, at),
        environmentId,
        name,
        contentJson: JSON.stringify(template.content),
        createdBy: request.accessToken.client_id,
        templateId: template.id,
        at,
      });
      return reply.code(201).header('location', `/api/v1/environments/${environmentId}/projects/${created.id}`).send(toProjectDto(created));
    },
  );
}
