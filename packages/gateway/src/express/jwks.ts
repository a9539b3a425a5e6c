import type { RequestHandler } from 'express'
import { writeError } from '../auth/write-error.js'
import { noAssertionKeys } from '../engine/assertion-signer.js'
import type { Gateway } from '../engine/index.js'

/**
 * Express handler serving the gateway's assertion keys (JWKS) for the c7auth engine plugin. Mount
 * it without authentication (the engine fetches it); it answers 404 unless the gateway runs in
 * `assertion` mode.
 *
 * @example
 * ```ts
 * app.get('/.well-known/jwks.json', engineJwks(gateway))
 * ```
 */
export function engineJwks(gateway: Pick<Gateway, 'assertionJwks'>): RequestHandler {
  return (req, res) => {
    const jwks = gateway.assertionJwks
    if (!jwks) {
      writeError(req, res, noAssertionKeys())
      return
    }
    // Short enough that a published next key is seen before the gateway signs with it.
    res.set('cache-control', 'public, max-age=60')
    res.status(200).json(jwks)
  }
}
