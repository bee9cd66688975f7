import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext, Authenticator } from './auth.js';
import { checkParameters } from './text.js';

/**
 * The path segment that stands for "the token's project": Sahara's URLs without a project id
 * (`/v1.1/job-executions`) are routed with it in place of one (versions.ts). A client sending it
 * itself only names its own project.
 */
export const TOKEN_PROJECT = '-';

/**
 * The onRequest hook of every authenticated route: checks the path and query text, then sets
 * `request.auth` from the `Authenticator`. An authenticator that answers at once (noauth, static
 * tokens, a cached Keystone validation) costs no promise; one that must ask Keystone is awaited.
 * The project is the route's `:project_id` parameter, if it has one.
 */
export function authenticateRequest(auth: Authenticator) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    const project = (request.params as { project_id?: string }).project_id;
    let answer: AuthContext | Promise<AuthContext>;
    try {
      // Before anything reads them, let alone a database: see text.ts.
      checkParameters(request.params, 'path parameter');
      checkParameters(request.query, 'query parameter');
      answer = auth.authenticate(request.headers, project === TOKEN_PROJECT ? undefined : project);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (!(answer instanceof Promise)) {
      request.auth = answer;
      done();
      return;
    }
    answer.then(
      (context) => {
        request.auth = context;
        done();
      },
      (error: unknown) => done(error as Error),
    );
  };
}
