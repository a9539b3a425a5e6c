/**
 * The engine's DB identity service: users, groups, tenants, memberships, password policy and the
 * login throttling of `DbIdentityServiceProvider.checkPassword`. No upsert anywhere.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { AuthContext } from './auth-context.js'
import { badUserRequest, engineException, nullValue } from './engine-errors.js'
import type { EngineState, GroupRecord, TenantRecord, UserRecord } from './engine-state.js'

/** Login throttling (`loginMaxAttempts`, `loginDelayBase`, `loginDelayFactor`, `loginDelayMaxTime`). */
export interface LoginThrottling {
  readonly maxAttempts: number
  readonly delayBaseSeconds: number
  readonly delayFactor: number
  readonly delayMaxSeconds: number
}

export interface IdentityConfig {
  readonly idPattern: RegExp
  readonly passwordPolicy: boolean
  readonly login: LoginThrottling
  readonly adminGroups: readonly string[]
  readonly adminUsers: readonly string[]
  readonly tenantCheck: boolean
  readonly now: () => number
}

/** Input of a user creation (profile + optional password). */
export interface NewUser {
  readonly id: string
  readonly firstName?: string | null | undefined
  readonly lastName?: string | null | undefined
  readonly email?: string | null | undefined
  readonly password?: string | null | undefined
}

const SPECIAL = new Set([...' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'])
const MAX_ID_LENGTH = 64

export interface PasswordPolicyRuleResult {
  readonly placeholder: string
  readonly parameter: Record<string, string> | null
  readonly valid: boolean
}

/** The built-in `DefaultPasswordPolicyImpl` rules, evaluated for one candidate. */
export function evaluatePasswordPolicy(
  password: string,
  profile: {
    id?: string | null | undefined
    firstName?: string | null | undefined
    lastName?: string | null | undefined
    email?: string | null | undefined
  },
): PasswordPolicyRuleResult[] {
  const chars = [...password]
  const upper = password.toUpperCase()
  const userData = [profile.id, profile.firstName, profile.lastName, profile.email].filter(
    (x): x is string => typeof x === 'string' && x !== '',
  )
  return [
    {
      placeholder: 'PASSWORD_POLICY_USER_DATA',
      parameter: null,
      valid: !userData.some((d) => upper.includes(d.toUpperCase())),
    },
    {
      placeholder: 'PASSWORD_POLICY_LENGTH',
      parameter: { minLength: '10' },
      valid: chars.length >= 10,
    },
    {
      placeholder: 'PASSWORD_POLICY_LOWERCASE',
      parameter: { minLowerCase: '1' },
      valid: /\p{Ll}/u.test(password),
    },
    {
      placeholder: 'PASSWORD_POLICY_UPPERCASE',
      parameter: { minUpperCase: '1' },
      valid: /\p{Lu}/u.test(password),
    },
    {
      placeholder: 'PASSWORD_POLICY_DIGIT',
      parameter: { minDigit: '1' },
      valid: /\p{Nd}/u.test(password),
    },
    {
      placeholder: 'PASSWORD_POLICY_SPECIAL',
      parameter: { minSpecial: '1' },
      valid: chars.some((c) => SPECIAL.has(c)),
    },
  ]
}

const hash = (salt: string, password: string): string =>
  '{SHA-512}' +
  createHash('sha512')
    .update(password + salt)
    .digest('base64')

/** What an identity write did, for the user operation log. */
export interface IdentityOperation {
  readonly entityType: 'User' | 'Group' | 'Tenant' | 'Group membership' | 'TenantMembership'
  readonly operationType: 'Create' | 'Update' | 'Delete' | 'Unlock'
}

export class IdentityService {
  readonly #state: EngineState
  readonly #config: IdentityConfig

  constructor(state: EngineState, config: IdentityConfig) {
    this.#state = state
    this.#config = config
  }

  get config(): IdentityConfig {
    return this.#config
  }

  /** `ensureWhitelistedResourceId` + the varchar(64) column limit. */
  #checkId(resourceType: 'User' | 'Group' | 'Tenant', id: string): void {
    if (id === '*') {
      throw engineException(
        `${resourceType} has an invalid id: id cannot be *. * is a reserved identifier.`,
      )
    }
    if (!this.#config.idPattern.test(id)) {
      throw engineException(
        `${resourceType} has an invalid id: '${id}' is not a valid resource identifier.`,
      )
    }
  }

  #checkLength(table: string, id: string): void {
    if (id.length > MAX_ID_LENGTH) {
      throw engineException(
        `ENGINE-03083 Exception while executing Batch Database Operations with message 'value too long for type character varying(64)'. Flush summary: [ INSERT ${table}[${id}] ]`,
      )
    }
  }

  #checkPolicy(password: string, profile: NewUser): void {
    if (!this.#config.passwordPolicy) return
    if (evaluatePasswordPolicy(password, profile).some((r) => !r.valid)) {
      throw engineException('Password does not match policy')
    }
  }

  createUser(user: NewUser): IdentityOperation {
    this.#checkId('User', user.id)
    if (user.password !== undefined && user.password !== null)
      this.#checkPolicy(user.password, user)
    if (this.#state.users.has(user.id)) throw badUserRequest('The user already exists')
    this.#checkLength('UserEntity', user.id)
    const salt = randomBytes(16).toString('base64')
    this.#state.users.set(user.id, {
      id: user.id,
      firstName: user.firstName ?? null,
      lastName: user.lastName ?? null,
      email: user.email ?? null,
      salt,
      passwordHash:
        user.password === undefined || user.password === null ? null : hash(salt, user.password),
      attempts: 0,
      lockExpirationTime: null,
    })
    return { entityType: 'User', operationType: 'Create' }
  }

  updateProfile(
    id: string,
    profile: {
      id?: string | null
      firstName?: string | null
      lastName?: string | null
      email?: string | null
    },
  ): IdentityOperation {
    const user = this.#state.users.get(id)
    if (user === undefined) throw nullValue(`No user found with id '${id}'.`, 'user')
    user.firstName = profile.firstName ?? null
    user.lastName = profile.lastName ?? null
    user.email = profile.email ?? null
    return { entityType: 'User', operationType: 'Update' }
  }

  setPassword(id: string, password: string): IdentityOperation {
    const user = this.#state.users.get(id)
    if (user === undefined) throw nullValue(`No user found with id '${id}'.`, 'user')
    this.#checkPolicy(password, user)
    user.salt = randomBytes(16).toString('base64')
    user.passwordHash = hash(user.salt, password)
    return { entityType: 'User', operationType: 'Update' }
  }

  deleteUser(id: string): IdentityOperation | null {
    if (!this.#state.users.delete(id)) return null
    for (const members of this.#state.groupMembers.values()) members.delete(id)
    for (const members of this.#state.tenantUsers.values()) members.delete(id)
    return { entityType: 'User', operationType: 'Delete' }
  }

  unlockUser(id: string): IdentityOperation | null {
    const user = this.#state.users.get(id)
    if (user === undefined || (user.attempts === 0 && user.lockExpirationTime === null)) return null
    user.attempts = 0
    user.lockExpirationTime = null
    return { entityType: 'User', operationType: 'Unlock' }
  }

  isLocked(user: UserRecord): boolean {
    if (user.attempts >= this.#config.login.maxAttempts) return true
    return user.lockExpirationTime !== null && user.lockExpirationTime > this.#config.now()
  }

  /** `checkPassword`: counts failures, locks temporarily, then permanently. */
  checkPassword(userId: string, password: string): boolean {
    if (userId === '' || password === '') return false
    const user = this.#state.users.get(userId)
    if (user === undefined) return false
    if (this.isLocked(user)) return false
    if (user.passwordHash !== null && hash(user.salt, password) === user.passwordHash) {
      if (user.attempts > 0 || user.lockExpirationTime !== null) {
        user.attempts = 0
        user.lockExpirationTime = null
      }
      return true
    }
    const { delayBaseSeconds, delayFactor, delayMaxSeconds } = this.#config.login
    const attempts = user.attempts + 1
    const delay = Math.min(
      Math.floor(delayBaseSeconds * delayFactor ** (attempts - 1)),
      delayMaxSeconds,
    )
    user.attempts = attempts
    user.lockExpirationTime = this.#config.now() + delay * 1000
    return false
  }

  createGroup(group: GroupRecord): IdentityOperation {
    this.#checkId('Group', group.id)
    if (this.#state.groups.has(group.id)) throw badUserRequest('The group already exists')
    this.#checkLength('GroupEntity', group.id)
    this.#state.groups.set(group.id, { ...group })
    return { entityType: 'Group', operationType: 'Create' }
  }

  deleteGroup(id: string): IdentityOperation | null {
    if (!this.#state.groups.delete(id)) return null
    this.#state.groupMembers.delete(id)
    for (const members of this.#state.tenantGroups.values()) members.delete(id)
    return { entityType: 'Group', operationType: 'Delete' }
  }

  createTenant(tenant: TenantRecord): IdentityOperation {
    this.#checkId('Tenant', tenant.id)
    if (this.#state.tenants.has(tenant.id)) throw badUserRequest('The tenant already exists')
    this.#checkLength('TenantEntity', tenant.id)
    this.#state.tenants.set(tenant.id, { ...tenant })
    return { entityType: 'Tenant', operationType: 'Create' }
  }

  deleteTenant(id: string): IdentityOperation | null {
    if (!this.#state.tenants.delete(id)) return null
    this.#state.tenantUsers.delete(id)
    this.#state.tenantGroups.delete(id)
    return { entityType: 'Tenant', operationType: 'Delete' }
  }

  #duplicateMembership(table: string): never {
    throw engineException(
      `ENGINE-03083 Exception while executing Batch Database Operations with message 'duplicate key value violates unique constraint'. Flush summary: [ INSERT ${table} ]`,
    )
  }

  createGroupMembership(userId: string, groupId: string): IdentityOperation {
    if (!this.#state.users.has(userId))
      throw nullValue(`No user found with id '${userId}'.`, 'user')
    if (!this.#state.groups.has(groupId))
      throw nullValue(`No group found with id '${groupId}'.`, 'group')
    const members = this.#state.groupMembers.get(groupId) ?? new Set<string>()
    if (members.has(userId)) this.#duplicateMembership('MembershipEntity')
    members.add(userId)
    this.#state.groupMembers.set(groupId, members)
    return { entityType: 'Group membership', operationType: 'Create' }
  }

  deleteGroupMembership(userId: string, groupId: string): IdentityOperation | null {
    return this.#state.groupMembers.get(groupId)?.delete(userId) === true
      ? { entityType: 'Group membership', operationType: 'Delete' }
      : null
  }

  createTenantUserMembership(tenantId: string, userId: string): IdentityOperation {
    if (!this.#state.tenants.has(tenantId))
      throw nullValue(`No tenant found with id '${tenantId}'.`, 'tenant')
    if (!this.#state.users.has(userId))
      throw nullValue(`No user found with id '${userId}'.`, 'user')
    const members = this.#state.tenantUsers.get(tenantId) ?? new Set<string>()
    if (members.has(userId)) this.#duplicateMembership('TenantMembershipEntity')
    members.add(userId)
    this.#state.tenantUsers.set(tenantId, members)
    return { entityType: 'TenantMembership', operationType: 'Create' }
  }

  deleteTenantUserMembership(tenantId: string, userId: string): IdentityOperation | null {
    return this.#state.tenantUsers.get(tenantId)?.delete(userId) === true
      ? { entityType: 'TenantMembership', operationType: 'Delete' }
      : null
  }

  createTenantGroupMembership(tenantId: string, groupId: string): IdentityOperation {
    if (!this.#state.tenants.has(tenantId))
      throw nullValue(`No tenant found with id '${tenantId}'.`, 'tenant')
    if (!this.#state.groups.has(groupId))
      throw nullValue(`No group found with id '${groupId}'.`, 'group')
    const members = this.#state.tenantGroups.get(tenantId) ?? new Set<string>()
    if (members.has(groupId)) this.#duplicateMembership('TenantMembershipEntity')
    members.add(groupId)
    this.#state.tenantGroups.set(tenantId, members)
    return { entityType: 'TenantMembership', operationType: 'Create' }
  }

  deleteTenantGroupMembership(tenantId: string, groupId: string): IdentityOperation | null {
    return this.#state.tenantGroups.get(tenantId)?.delete(groupId) === true
      ? { entityType: 'TenantMembership', operationType: 'Delete' }
      : null
  }

  /** Group ids the user is a member of. */
  groupsOf(userId: string): string[] {
    const out: string[] = []
    for (const [groupId, members] of this.#state.groupMembers)
      if (members.has(userId)) out.push(groupId)
    return out.sort()
  }

  /** Tenant ids of the user, directly or through groups (`includingGroupsOfUser(true)`). */
  tenantsOf(userId: string, includingGroups = true): string[] {
    const groups = includingGroups ? new Set(this.groupsOf(userId)) : new Set<string>()
    const out = new Set<string>()
    for (const [tenantId, users] of this.#state.tenantUsers)
      if (users.has(userId)) out.add(tenantId)
    for (const [tenantId, tg] of this.#state.tenantGroups) {
      for (const g of tg) if (groups.has(g)) out.add(tenantId)
    }
    return [...out].sort()
  }

  /** What `ProcessEngineAuthenticationFilter.setAuthenticatedUser` builds after a good password. */
  authenticate(userId: string): AuthContext {
    const groupIds = this.groupsOf(userId)
    const tenantIds = this.tenantsOf(userId)
    const admin =
      this.#config.adminUsers.includes(userId) ||
      groupIds.some((g) => this.#config.adminGroups.includes(g))
    return { userId, groupIds, tenantIds, admin, tenantCheck: this.#config.tenantCheck && !admin }
  }
}
