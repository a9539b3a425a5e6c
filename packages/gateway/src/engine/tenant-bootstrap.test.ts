import { describe, expect, it } from 'vitest'
import {
  appAuthorizations,
  configuredAuthorizations,
  userAuthorizations,
} from './tenant-bootstrap.js'

describe('configuredAuthorizations (C7AUTH_ENGINE_AUTHORIZATIONS)', () => {
  const groups = { app: ['apps', 'robots', 'apps'], user: ['staff'] }

  it('grants nothing for none or an unset mode', () => {
    expect(configuredAuthorizations('none', groups)).toEqual([])
    expect(configuredAuthorizations(undefined, groups)).toEqual([])
  })

  it('apps: the app grants for every distinct default app group, nothing for users', () => {
    expect(configuredAuthorizations('apps', groups)).toEqual([
      ...appAuthorizations('apps'),
      ...appAuthorizations('robots'),
    ])
  })

  it('apps+users: adds task-worker grants for the default user groups', () => {
    const grants = configuredAuthorizations('apps+users', groups)
    expect(grants).toEqual([
      ...appAuthorizations('apps'),
      ...appAuthorizations('robots'),
      ...userAuthorizations('staff'),
    ])
    const staff = grants.filter((g) => g.groupId === 'staff')
    expect(staff.find((g) => g.resourceType === 6)?.permissions).toEqual([
      'READ',
      'READ_TASK',
      'TASK_WORK',
      'READ_INSTANCE',
    ])
    // Users never get to start instances or deploy.
    expect(staff.flatMap((g) => g.permissions)).not.toContain('CREATE_INSTANCE')
    expect(staff.flatMap((g) => g.permissions)).not.toContain('CREATE')
  })
})
