/** What the engine's history level is, as far as engine-rest shows it. */
export type HistoryLevel = 'full' | 'audit' | 'none' | 'unknown'

/** Reads `{ count }` from an engine-rest count path (relative to engine-rest); throws on failure. */
export type CountReader = (path: string) => Promise<number>

/** The probe's answer; `detail` says what was seen, for the doctor and the start-up warning. */
export interface HistoryLevelProbe {
  readonly level: HistoryLevel
  readonly detail: string
}

/**
 * The history level is not readable over engine-rest; what each level writes is. Only `full`
 * writes historic variable updates (details) next to historic variable instances, `audit` writes
 * the instances without the updates, and `none` writes no historic process instance even for
 * running ones. Before any process set a variable the level cannot be told (`unknown`).
 *
 * @example
 * ```ts
 * const { level } = await probeHistoryLevel(async (path) => (await getJson(path)).count)
 * ```
 */
export async function probeHistoryLevel(count: CountReader): Promise<HistoryLevelProbe> {
  const details = await count('/history/detail/count?variableUpdates=true')
  if (details > 0) return { level: 'full', detail: 'historic variable updates are written' }
  const variables = await count('/history/variable-instance/count')
  if (variables > 0) {
    return {
      level: 'audit',
      detail: `${variables} historic variable(s) but no variable updates`,
    }
  }
  const historic = await count('/history/process-instance/count')
  const running = await count('/process-instance/count')
  if (running > 0 && historic === 0) {
    return { level: 'none', detail: 'running instances but no history' }
  }
  return { level: 'unknown', detail: 'no variables written yet' }
}
