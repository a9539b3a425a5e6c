/**
 * The engine's authorization service: `ACT_RU_AUTHORIZATION` rows (global, grant, revoke) and the
 * permission check the simulator applies when authorization checks are on.
 */
import { randomUUID } from 'node:crypto'
import type { AuthContext } from './auth-context.js'
import { badUserRequest, engineException, nullValue } from './engine-errors.js'
import type { AuthorizationRecord, EngineState } from './engine-state.js'

/** A row as `GET /authorization` shows it (a copy: callers cannot change the stored row). */
export function authorizationView(a: AuthorizationRecord): AuthorizationRecord {
  return {
    id: a.id,
    type: a.type,
    permissions: [...a.permissions],
    userId: a.userId,
    groupId: a.groupId,
    resourceType: a.resourceType,
    resourceId: a.resourceId,
  }
}

/** `Resources.java`: resource type id → resource name (as in the engine's messages). */
export const RESOURCE_NAMES: Readonly<Record<number, string>> = {
  0: 'Application',
  1: 'User',
  2: 'Group',
  3: 'GroupMembership',
  4: 'Authorization',
  5: 'Filter',
  6: 'ProcessDefinition',
  7: 'Task',
  8: 'ProcessInstance',
  9: 'Deployment',
  10: 'DecisionDefinition',
  11: 'Tenant',
  12: 'TenantMembership',
  13: 'Batch',
  14: 'DecisionRequirementsDefinition',
  15: 'Report',
  16: 'Dashboard',
  17: 'OperationLogCategory',
  19: 'HistoricTask',
  20: 'HistoricProcessInstance',
  21: 'System',
}

/** Resource type ids the simulator checks. */
export const RESOURCE = {
  USER: 1,
  GROUP: 2,
  AUTHORIZATION: 4,
  PROCESS_DEFINITION: 6,
  TASK: 7,
  PROCESS_INSTANCE: 8,
  DEPLOYMENT: 9,
} as const

const CRUD = ['READ', 'UPDATE', 'CREATE', 'DELETE']

/** Valid permission names per resource type (`*Permissions.java`, `Permissions.java`), besides NONE/ALL. */
const PERMISSIONS: Readonly<Record<number, readonly string[]>> = {
  0: ['ACCESS'],
  1: CRUD,
  2: CRUD,
  3: ['CREATE', 'DELETE'],
  4: CRUD,
  5: CRUD,
  6: [
    'READ',
    'UPDATE',
    'DELETE',
    'SUSPEND',
    'CREATE_INSTANCE',
    'READ_INSTANCE',
    'UPDATE_INSTANCE',
    'RETRY_JOB',
    'SUSPEND_INSTANCE',
    'DELETE_INSTANCE',
    'MIGRATE_INSTANCE',
    'READ_TASK',
    'UPDATE_TASK',
    'TASK_ASSIGN',
    'TASK_WORK',
    'READ_TASK_VARIABLE',
    'READ_HISTORY',
    'READ_HISTORY_VARIABLE',
    'DELETE_HISTORY',
    'READ_INSTANCE_VARIABLE',
    'UPDATE_INSTANCE_VARIABLE',
    'UPDATE_TASK_VARIABLE',
    'UPDATE_HISTORY',
  ],
  7: [
    ...CRUD,
    'TASK_ASSIGN',
    'TASK_WORK',
    'UPDATE_VARIABLE',
    'READ_VARIABLE',
    'READ_HISTORY',
    'READ_HISTORY_VARIABLE',
    'DELETE_HISTORY',
  ],
  8: [...CRUD, 'RETRY_JOB', 'SUSPEND', 'UPDATE_VARIABLE'],
  9: ['READ', 'CREATE', 'DELETE'],
  10: ['READ', 'UPDATE', 'CREATE_INSTANCE', 'READ_HISTORY', 'DELETE_HISTORY'],
  11: CRUD,
  12: ['CREATE', 'DELETE'],
  13: [...CRUD, 'READ_HISTORY', 'DELETE_HISTORY'],
  14: ['READ'],
  15: CRUD,
  16: CRUD,
  17: ['READ', 'UPDATE', 'DELETE'],
  19: ['READ', 'READ_VARIABLE'],
  20: ['READ'],
  21: ['READ', 'SET', 'DELETE'],
}

/** The fields a create or update sets (`AuthorizationCreateDto`, `AuthorizationDto.update`). */
export interface AuthorizationInput {
  readonly type: number | null
  readonly permissions: readonly string[] | null
  readonly userId: string | null
  readonly groupId: string | null
  readonly resourceType: number | null
  readonly resourceId: string | null
}

/** `AuthorizationQuery` criteria. */
export interface AuthorizationQuery {
  readonly id?: string
  readonly type?: number
  readonly userIdIn?: readonly string[]
  readonly groupIdIn?: readonly string[]
  readonly resourceType?: number
  readonly resourceId?: string
}

export const resourceName = (type: number): string => RESOURCE_NAMES[type] ?? String(type)

export class AuthorizationService {
  readonly #state: EngineState
  readonly #checks: boolean

  constructor(state: EngineState, checks: boolean) {
    this.#state = state
    this.#checks = checks
  }

  /** Whether `ctx` passes the check at all: checks on, authenticated, not an admin. */
  isChecked(ctx: AuthContext): boolean {
    return this.#checks && ctx.userId !== null && !ctx.admin
  }

  /**
   * `AuthorizationManager.isAuthorized`, simplified: the user's own rows beat their groups' rows,
   * which beat global rows; on one level a revoke beats a grant. A row matches the resource id or
   * `*`, and `ALL` covers every permission.
   */
  isAuthorized(
    ctx: AuthContext,
    permission: string,
    resourceType: number,
    resourceId: string,
  ): boolean {
    if (!this.isChecked(ctx)) return true
    const matching = [...this.#state.authorizations.values()].filter(
      (a) =>
        a.resourceType === resourceType &&
        (a.resourceId === '*' || a.resourceId === resourceId) &&
        (a.permissions.includes('ALL') || a.permissions.includes(permission)),
    )
    const decide = (rows: AuthorizationRecord[]): boolean | undefined => {
      if (rows.some((a) => a.type === 2)) return false
      if (rows.some((a) => a.type === 1)) return true
      return undefined
    }
    return (
      decide(matching.filter((a) => a.type !== 0 && a.userId === ctx.userId)) ??
      decide(
        matching.filter(
          (a) => a.type !== 0 && a.groupId !== null && ctx.groupIds.includes(a.groupId),
        ),
      ) ??
      matching.some((a) => a.type === 0)
    )
  }

  query(q: AuthorizationQuery): AuthorizationRecord[] {
    return [...this.#state.authorizations.values()].filter((a) => {
      if (q.id !== undefined && a.id !== q.id) return false
      if (q.type !== undefined && a.type !== q.type) return false
      if (q.userIdIn !== undefined && (a.userId === null || !q.userIdIn.includes(a.userId)))
        return false
      if (q.groupIdIn !== undefined && (a.groupId === null || !q.groupIdIn.includes(a.groupId)))
        return false
      if (q.resourceType !== undefined && a.resourceType !== q.resourceType) return false
      if (q.resourceId !== undefined && a.resourceId !== q.resourceId) return false
      return true
    })
  }

  get(id: string): AuthorizationRecord | undefined {
    return this.#state.authorizations.get(id)
  }

  create(input: AuthorizationInput): AuthorizationRecord {
    const type = input.type ?? 0
    if (type !== 0 && type !== 1 && type !== 2) {
      throw badUserRequest(`Invalid authorization type '${type}'.`)
    }
    const record: AuthorizationRecord = {
      id: randomUUID(),
      type,
      ...this.#validate(type, input),
    }
    this.#state.authorizations.set(record.id, record)
    return record
  }

  update(existing: AuthorizationRecord, input: AuthorizationInput): void {
    const next = this.#validate(existing.type, input, existing.id)
    Object.assign(existing, next)
  }

  delete(id: string): boolean {
    return this.#state.authorizations.delete(id)
  }

  /** `SaveAuthorizationCmd.validate` + the permission converter + the unique constraint. */
  #validate(
    type: 0 | 1 | 2,
    input: AuthorizationInput,
    selfId?: string,
  ): Pick<
    AuthorizationRecord,
    'permissions' | 'userId' | 'groupId' | 'resourceType' | 'resourceId'
  > {
    if (type === 0 && input.groupId !== null) {
      throw engineException("ENGINE-03027 Cannot use 'groupId' for GLOBAL authorization.")
    }
    if (type === 0 && input.userId !== '*') {
      throw engineException(
        `ENGINE-03028 Illegal value '${input.userId}' for userId for GLOBAL authorization. Must be '*'.`,
      )
    }
    if ((input.userId === null) === (input.groupId === null)) {
      throw engineException("Authorization must either have a 'userId' or a 'groupId'.")
    }
    if (input.resourceType === null) {
      throw nullValue("Authorization 'resourceType' cannot be null.", 'authorization.getResource()')
    }
    const resourceType = input.resourceType
    const valid = PERMISSIONS[resourceType] ?? [...new Set(Object.values(PERMISSIONS).flat())]
    const permissions = [...new Set(input.permissions ?? [])]
    for (const p of permissions) {
      if (p !== 'ALL' && p !== 'NONE' && !valid.includes(p)) {
        throw badUserRequest(
          `The permission '${p}' is not valid for '${resourceName(resourceType)}' resource type.`,
        )
      }
    }
    const resourceId = input.resourceId ?? '*'
    const duplicate = [...this.#state.authorizations.values()].find(
      (a) =>
        a.id !== selfId &&
        a.type === type &&
        a.userId === input.userId &&
        a.groupId === input.groupId &&
        a.resourceType === resourceType &&
        a.resourceId === resourceId,
    )
    if (duplicate) {
      const constraint = input.userId !== null ? 'ACT_UNIQ_AUTH_USER' : 'ACT_UNIQ_AUTH_GROUP'
      throw engineException(
        `ENGINE-03004 Exception while executing Database Operation '${selfId === undefined ? 'INSERT' : 'UPDATE'} AuthorizationEntity[${selfId ?? duplicate.id}]' with message 'duplicate key value violates unique constraint "${constraint.toLowerCase()}"'.`,
      )
    }
    return {
      permissions: permissions.filter((p) => p !== 'NONE'),
      userId: input.userId,
      groupId: input.groupId,
      resourceType,
      resourceId,
    }
  }
}
