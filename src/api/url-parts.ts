/**
 * Splits a URL the way Python's `urllib.parse.urlsplit` does, because Sahara's URL rules are
 * written against its results (WHATWG `URL` differs: it rejects some of these URLs outright and
 * treats `file:` and `http:` specially).
 */
export interface UrlParts {
  /** Lower-cased; '' when the URL has no scheme. */
  scheme: string;
  /** Everything between `//` and the path; '' when absent. */
  netloc: string;
  /** The host without user info or port, lower-cased; '' when absent. */
  hostname: string;
  path: string;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

export function splitUrl(url: string): UrlParts {
  let rest = url;
  let scheme = '';
  const match = SCHEME.exec(rest);
  if (match) {
    scheme = match[1]!.toLowerCase();
    rest = rest.slice(match[0].length);
  }
  let netloc = '';
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end === -1 ? rest.slice(2) : rest.slice(2, end + 2);
    rest = end === -1 ? '' : rest.slice(end + 2);
  }
  const queryAt = rest.search(/[?#]/);
  const path = queryAt === -1 ? rest : rest.slice(0, queryAt);
  return { scheme, netloc, hostname: hostnameOf(netloc), path };
}

function hostnameOf(netloc: string): string {
  const host = netloc.slice(netloc.lastIndexOf('@') + 1);
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return (close === -1 ? host.slice(1) : host.slice(1, close)).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}
