/** How the process-definition resources find a definition for a caller (shared by the form routes). */
import type { AuthContext } from '../auth-context.js'
import { isAuthenticatedTenant } from '../auth-context.js'
import { RESOURCE } from '../authorization-service.js'
import { restException } from '../engine-errors.js'
import type { ProcessDefinitionRecord } from '../engine-state.js'
import type { EngineServices } from './route-types.js'

/** Definition queries filter on READ (an SQL join in the engine): unreadable rows do not exist. */
export function definitionReadable(
  engine: EngineServices,
  auth: AuthContext,
  d: ProcessDefinitionRecord,
): boolean {
  return engine.authorization.isAuthorized(auth, 'READ', RESOURCE.PROCESS_DEFINITION, d.key)
}

/** The latest definition of a key (and tenant) for the key paths, with the resource's own 404. */
export function definitionByKey(
  engine: EngineServices,
  auth: AuthContext,
  key: string,
  tenantId: string | null,
): ProcessDefinitionRecord {
  const d = engine.repository.latestDefinition(key, tenantId)
  if (
    d === undefined ||
    !isAuthenticatedTenant(auth, d.tenantId) ||
    !definitionReadable(engine, auth, d)
  ) {
    throw restException(
      404,
      tenantId === null
        ? `No matching process definition with key: ${key} and no tenant-id`
        : `No matching process definition with key: ${key} and tenant-id: ${tenantId}`,
      false,
    )
  }
  return d
}
