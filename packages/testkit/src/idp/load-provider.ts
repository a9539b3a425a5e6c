import type * as OidcProviderModule from 'oidc-provider'

type OidcModule = typeof OidcProviderModule

let loading: Promise<OidcModule> | undefined

/**
 * Imports oidc-provider once, swallowing its import-time "Unsupported runtime" warning on Node 20
 * (it only concerns Node versions, and it pollutes every test run).
 */
export function loadOidcProvider(): Promise<OidcModule> {
  loading ??= (async () => {
    const warn = console.warn
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return
      warn(...args)
    }
    try {
      return await import('oidc-provider')
    } finally {
      console.warn = warn
    }
  })()
  return loading
}
