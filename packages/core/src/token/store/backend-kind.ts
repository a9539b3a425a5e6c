/** The database behind a shared store. */
export type TokenStoreBackendKind = 'redis' | 'postgres'

/** The backend a store URL names, or undefined. */
export function backendKindOf(url: string): TokenStoreBackendKind | undefined {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    return undefined
  }
  if (protocol === 'redis:' || protocol === 'rediss:') return 'redis'
  if (protocol === 'postgres:' || protocol === 'postgresql:') return 'postgres'
  return undefined
}
