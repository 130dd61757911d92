import AjvCompiler from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

// Fastify compiles every route's request validators (Ajv) and response serializers
// (fast-json-stringify) while it boots. With the Platform API, the Environment API and the OAuth
// routes that is about a hundred schemas, and compiling them was the largest single part of start-up
// after loading modules (issue 15: start-up to /readyz within 4× a bare node:http process). Most
// routes of a given deployment are never called, or not in its first seconds, so each schema is
// compiled the first time its route needs it instead, by Fastify's own default compilers with the
// same options. Behaviour is the same; the first request of each route pays its compile once.
//
// An invalid schema now fails at that route's first request instead of at boot: the OpenAPI and
// route tests call every route, so a broken schema is still caught by `npm test`.

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>;

/** A validator that Fastify can call like Ajv's: a boolean result, with `errors` set after a failure. */
interface LazyValidator {
  (data: unknown): unknown;
  errors?: unknown;
}

/** Fastify's default validator factory (Ajv), compiling each route's schema on its first use. */
export function lazyValidatorFactory(): ValidatorFactory {
  const build = AjvCompiler() as unknown as (...args: Parameters<ValidatorFactory>) => (route: unknown) => LazyValidator;
  return ((externalSchemas, ajvOptions) => {
    // Creating the Ajv instance itself (its meta-schemas and formats) waits for the first request too.
    let compile: ((route: unknown) => LazyValidator) | undefined;
    return (route: unknown) => {
      let validate: LazyValidator | undefined;
      const lazy: LazyValidator = function (this: unknown, data: unknown) {
        validate ??= (compile ??= build(externalSchemas, ajvOptions))(route);
        const result = validate.call(this, data);
        // Fastify reads the reasons from the function it called.
        lazy.errors = validate.errors;
        return result;
      };
      return lazy;
    };
  }) as ValidatorFactory;
}

/** Fastify's default serializer factory (fast-json-stringify), compiling each response schema on its first use. */
export function lazySerializerFactory(): SerializerFactory {
  const build = SerializerSelector() as unknown as (...args: Parameters<SerializerFactory>) => (route: unknown) => (doc: unknown) => string;
  return ((externalSchemas, serializerOptions) => {
    let compile: ((route: unknown) => (doc: unknown) => string) | undefined;
    return (route: unknown) => {
      let serialize: ((doc: unknown) => string) | undefined;
      return (doc: unknown) => (serialize ??= (compile ??= build(externalSchemas, serializerOptions))(route))(doc);
    };
  }) as SerializerFactory;
}
