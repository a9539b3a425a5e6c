/**
 * The one rule for plain `http:` URLs to an IdP, a JWKS or a downstream service: refused unless
 * the host is loopback (a local IdP or sidecar) or the operator opted in with `allowInsecureHttp`.
 * The config loader, the token client and the worker's task `fetch` all ask this module.
 */

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** True for URLs on loopback hosts, where plain HTTP is acceptable. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return LOOPBACK.has(new URL(url).hostname)
  } catch {
    return false
  }
}

/** True when `url` is plain `http:` on a non-loopback host and insecure HTTP was not allowed. */
export function refusesPlainHttp(url: string | URL, allowInsecureHttp: boolean): boolean {
  if (allowInsecureHttp) return false
  const href = typeof url === 'string' ? url : url.href
  let protocol: string
  try {
    protocol = new URL(href).protocol
  } catch {
    return false
  }
  return protocol === 'http:' && !isLoopbackUrl(href)
}
