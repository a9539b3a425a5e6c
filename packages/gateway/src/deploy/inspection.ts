import { C7AuthError } from '@c7auth/core'
import type { DeployProfile } from '@c7auth/core'
import type { MultipartInspection, PartInspector } from '../engine/multipart-tenant.js'
import { ResourceScanner } from './resource-scanner.js'
import { refusalMessage, refusedOutright } from './rules.js'
import type { DeploymentFinding } from './rules.js'

/** Options of {@link createDeploymentInspection}. */
export interface DeploymentInspectionOptions {
  /** The deployment profile of the resolved tenant. */
  readonly profileOf: (tenantId: string | undefined) => DeployProfile
  /**
   * True when the engine holds signal subscriptions without a tenant (shared definitions with
   * signal start events, or shared instances waiting for a signal). Asked only for a `trusted`
   * deployment with a signal throw; absent, or failing, counts as true (fail closed).
   */
  readonly sharedSignalSubscriptions?: (() => Promise<boolean>) | undefined
}

function refuse(finding: DeploymentFinding, profile: DeployProfile): C7AuthError {
  return new C7AuthError('C7AUTH_DEPLOYMENT_REFUSED', {
    message: refusalMessage(finding, profile),
    detail: `deployment rule ${finding.rule}`,
  })
}

/**
 * The deployment scanner over one `POST /deployment/create` body: every part with a file name
 * (a resource to the engine) goes through a {@link ResourceScanner}; `finish` applies the
 * tenant's profile and refuses with 400 `C7AUTH_DEPLOYMENT_REFUSED`, naming the first offending
 * resource, element and rule. Parts without a file name are the engine's text fields (it refuses
 * any other one itself). Reserved fields with a file name are scanned as resources too.
 */
export function createDeploymentInspection(
  options: DeploymentInspectionOptions,
): MultipartInspection {
  const scanners: ResourceScanner[] = []
  return {
    part(_name: string | undefined, filename: string | undefined): PartInspector | undefined {
      // without a file name a part is one of the engine's text fields (another one is its 400)
      if (filename === undefined) return undefined
      const scanner = new ResourceScanner(filename)
      scanners.push(scanner)
      return scanner
    },
    async finish(tenantId: string | undefined): Promise<void> {
      const profile = options.profileOf(tenantId)
      const findings = scanners.flatMap((s) => s.findings)
      const outright = findings.find((f) => refusedOutright(f, profile))
      if (outright) throw refuse(outright, profile)
      const signal = findings.find((f) => f.rule === 'signal-throw')
      if (signal === undefined) return
      const probe = options.sharedSignalSubscriptions
      const shared = probe ? await probe().catch(() => true) : true
      if (shared) throw refuse(signal, profile)
    },
  }
}
