import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { ApiError, DryRunResult, InputPreview, ProblemView } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { ErrorNotice } from '../../components/ErrorNotice'
import { baseName } from '../../components/format'
import { PageHeader } from '../../components/PageHeader'
import { useDebounced } from '../../components/use-debounced'
import { href, navigate } from '../../routing/routes'
import { useJobsStore } from '../../stores/jobs-store'
import { useUiStore } from '../../stores/ui-store'
import { readDrop } from './dropped-input'
import { DryRunPanel } from './DryRunPanel'
import { FilesDryRunPanel } from './FilesDryRunPanel'
import { FilesJobEditor } from './FilesJobEditor'
import { FolderPicker } from './FolderPicker'
import {
  columnsBefore,
  draftFromJob,
  draftToJob,
  emptyDraft,
  includeFor,
  placeProblems,
  presetStep,
  splitPatterns,
  withFolder,
  type FilesDraft,
  type JobDraft,
  type JobKind,
  type StepDraft
} from './job-draft'
import { KindChoice, kindTitle } from './KindChoice'
import { defaultOutputFolder } from './paths'
import { PreviewPanel, SectionProblems, type InputSettings } from './PreviewPanel'
import { ScheduleEditor } from './ScheduleEditor'
import { PRESETS, StepCard } from './StepsEditor'
import './job-editor.css'

/** Records a dry run looks at. */
const DRY_RUN_LIMIT = 200
/** Files whose commands a files job's dry run lists. */
const FILES_DRY_RUN_LIMIT = 50
/** Wait after the last keystroke before asking the engine to check the job. */
const VALIDATE_DEBOUNCE_MS = 400
const PREVIEW_DEBOUNCE_MS = 300

/** Which input settings the user set by hand (the rest follow what the preview detects). */
interface Overrides {
  format: boolean
  delimiter: boolean
  header: boolean
  encoding: boolean
  include: boolean
  sheet: boolean
}

const NO_OVERRIDES: Overrides = { format: false, delimiter: false, header: false, encoding: false, include: false, sheet: false }
const ALL_OVERRIDES: Overrides = { format: true, delimiter: true, header: true, encoding: true, include: true, sheet: true }

export function JobEditorScreen(props: { editName?: string }): React.JSX.Element {
  const { editName } = props
  const [draft, setDraft] = useState<JobDraft>(emptyDraft)
  const [baseDir, setBaseDir] = useState<string | undefined>(undefined)
  const [loaded, setLoaded] = useState(editName === undefined)
  const [loadError, setLoadError] = useState<ApiError | null>(null)
  const [overrides, setOverrides] = useState<Overrides>(NO_OVERRIDES)
  const [nameEdited, setNameEdited] = useState(false)
  const [preview, setPreview] = useState<InputPreview | null>(null)
  const [previewError, setPreviewError] = useState<ApiError | null>(null)
  const [previewLoading, setPreviewLoading] = useState(false)
  const [problems, setProblems] = useState<ProblemView[]>([])
  const [warnings, setWarnings] = useState<string[]>([])
  const [checking, setChecking] = useState(false)
  const [actionError, setActionError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState<'dry-run' | 'save' | 'save-and-run' | null>(null)
  const [dryRun, setDryRun] = useState<DryRunResult | null>(null)
  const [pickerOpen, setPickerOpen] = useState(false)
  const [dropMessage, setDropMessage] = useState<string | null>(null)
  const [dragOver, setDragOver] = useState(false)
  const jobs = useJobsStore((s) => s.jobs)
  const refreshJobs = useJobsStore((s) => s.refresh)
  const dropped = useUiStore((s) => s.droppedInput)
  const setDropped = useUiStore((s) => s.setDroppedInput)
  const dryRunRef = useRef<HTMLElement>(null)

  // Opening a saved job: its settings are the user's, not something to detect again.
  useEffect(() => {
    if (editName === undefined) return
    let live = true
    setLoaded(false)
    call('jobs.get', { name: editName })
      .then((job) => {
        if (!live) return
        setDraft(draftFromJob(job.definition, job.baseDir))
        setBaseDir(job.baseDir)
        setOverrides(ALL_OVERRIDES)
        setNameEdited(true)
        setLoaded(true)
      })
      .catch((e: unknown) => live && setLoadError(toApiError(e)))
    return () => {
      live = false
    }
  }, [editName])

  useEffect(() => {
    if (jobs === null) void refreshJobs()
  }, [jobs, refreshJobs])

  const chooseFolder = useCallback(
    (folder: string, include: string[] | null = null) => {
      setDraft((d) => {
        const next = withFolder(d, folder)
        if (!nameEdited) next.name = baseName(folder)
        // A files job's patterns are the analyst's own; a records job's follow the detected format unless set by hand.
        next.include = include ? include.join(', ') : overrides.include || d.kind === 'files' ? d.include : ''
        return next
      })
      // A new folder is detected afresh, unless the user is editing a saved job.
      if (editName === undefined) setOverrides({ ...NO_OVERRIDES, include: include !== null })
      setDryRun(null)
      setPickerOpen(false)
      setDropMessage(null)
    },
    [nameEdited, overrides.include, editName]
  )

  // A folder dropped on the window before this screen opened.
  useEffect(() => {
    if (!dropped || !loaded) return
    chooseFolder(dropped.folder, dropped.include)
    setDropped(null)
  }, [dropped, loaded, chooseFolder, setDropped])

  // ---- preview: what is in the folder
  const previewRequest = useMemo(() => {
    const folder = draft.folder.trim()
    // A files job takes files as they are: nothing to detect or preview.
    if (!folder || draft.kind === 'files') return null
    const include = overrides.include ? splitPatterns(draft.include) : []
    return JSON.stringify({
      folder,
      ...(include.length ? { include } : {}),
      ...(overrides.format ? { format: draft.format } : {}),
      ...(overrides.delimiter && (draft.format === 'csv' || draft.format === 'tsv') ? { delimiter: draft.delimiter } : {}),
      ...(overrides.encoding ? { encoding: draft.encoding } : {}),
      ...(draft.format === 'xlsx' && draft.sheet ? { sheet: draft.sheet } : {})
    })
  }, [draft.kind, draft.folder, draft.include, draft.format, draft.delimiter, draft.encoding, draft.sheet, overrides])
  const settledPreviewRequest = useDebounced(previewRequest, PREVIEW_DEBOUNCE_MS)

  useEffect(() => {
    if (!settledPreviewRequest || !loaded) {
      setPreview(null)
      setPreviewError(null)
      return
    }
    let live = true
    setPreviewLoading(true)
    call('inputs.preview', JSON.parse(settledPreviewRequest) as { folder: string })
      .then((p) => {
        if (!live) return
        setPreview(p)
        setPreviewError(null)
        setDraft((d) => ({
          ...d,
          format: overrides.format ? d.format : p.format,
          delimiter: overrides.delimiter ? d.delimiter : p.delimiter,
          header: overrides.header ? d.header : p.header,
          encoding: overrides.encoding ? d.encoding : p.encoding,
          include: overrides.include ? d.include : includeFor(p)
        }))
      })
      .catch((e: unknown) => {
        if (!live) return
        setPreview(null)
        setPreviewError(toApiError(e))
      })
      .finally(() => live && setPreviewLoading(false))
    return () => {
      live = false
    }
    // Overrides are read when the answer arrives; the request already depends on them.
  }, [settledPreviewRequest, loaded])

  // ---- inline validation
  const jobJson = useMemo(() => JSON.stringify(draftToJob(draft)), [draft])
  const settledJob = useDebounced(jobJson, VALIDATE_DEBOUNCE_MS)
  const hasFolder = draft.folder.trim() !== ''
  useEffect(() => {
    if (!hasFolder || !loaded) {
      setProblems([])
      setWarnings([])
      return
    }
    let live = true
    setChecking(true)
    call('jobs.validate', { job: JSON.parse(settledJob) as unknown, ...(baseDir ? { baseDir } : {}) })
      .then((r) => {
        if (!live) return
        setProblems(r.problems)
        setWarnings(r.warnings)
      })
      .catch((e: unknown) => {
        if (!live) return
        const err = toApiError(e)
        setProblems(err.problems ?? [])
      })
      .finally(() => live && setChecking(false))
    return () => {
      live = false
    }
  }, [settledJob, hasFolder, loaded, baseDir])

  const placed = useMemo(() => placeProblems(problems), [problems])
  const inputColumns = useMemo(() => {
    if (!preview) return []
    const headerOff = (draft.format === 'csv' || draft.format === 'tsv' || draft.format === 'xlsx') && !draft.header && preview.header
    return headerOff ? preview.columns.map((_, i) => `column${i + 1}`) : preview.columns.map((c) => c.name)
  }, [preview, draft.format, draft.header])

  // ---- editing
  const setSettings = (patch: Partial<InputSettings>): void => {
    setDraft((d) => {
      const next = { ...d, ...patch }
      if (patch.format && patch.format !== d.format && !overrides.delimiter) next.delimiter = patch.format === 'tsv' ? '\t' : ','
      return next
    })
    setOverrides((o) => ({
      ...o,
      ...(patch.format !== undefined ? { format: true } : {}),
      ...(patch.delimiter !== undefined ? { delimiter: true } : {}),
      ...(patch.header !== undefined ? { header: true } : {}),
      ...(patch.encoding !== undefined ? { encoding: true } : {}),
      ...(patch.include !== undefined ? { include: true } : {}),
      ...(patch.sheet !== undefined ? { sheet: true } : {})
    }))
  }

  const setStep = (i: number, step: StepDraft): void => setDraft((d) => ({ ...d, steps: d.steps.map((s, j) => (j === i ? step : s)) }))
  const moveStep = (i: number, delta: -1 | 1): void =>
    setDraft((d) => {
      const steps = [...d.steps]
      const j = i + delta
      if (j < 0 || j >= steps.length) return d
      ;[steps[i], steps[j]] = [steps[j] as StepDraft, steps[i] as StepDraft]
      return { ...d, steps }
    })
  const removeStep = (i: number): void => setDraft((d) => ({ ...d, steps: d.steps.filter((_, j) => j !== i) }))
  const addStep = (kind: (typeof PRESETS)[number]['kind']): void => {
    setDraft((d) => {
      const cols = columnsBefore(d.steps, d.steps.length, inputColumns)
      const columns = preview ? cols.map((name) => preview.columns.find((c) => c.name === name) ?? { name, type: 'string' as const, empty: 0 }) : []
      return { ...d, steps: [...d.steps, presetStep(kind, columns)] }
    })
  }

  const setKind = (kind: JobKind): void => {
    // Patterns detected for records (like *.csv) are not a choice the analyst made for files.
    setDraft((d) => ({ ...d, kind, include: kind === 'files' && !overrides.include ? '' : d.include }))
    setDryRun(null)
    setActionError(null)
  }
  const setFiles = (patch: Partial<FilesDraft>): void => setDraft((d) => ({ ...d, files: { ...d.files, ...patch } }))
  const setName = (name: string): void => {
    setNameEdited(true)
    setDraft((d) => ({ ...d, name }))
  }
  const isFiles = draft.kind === 'files'
  const dryRunLimit = isFiles ? FILES_DRY_RUN_LIMIT : DRY_RUN_LIMIT

  // ---- actions
  const job = (): unknown => draftToJob(draft)
  const withBase = baseDir ? { baseDir } : {}

  async function runAction(kind: 'dry-run' | 'save' | 'save-and-run'): Promise<void> {
    setBusy(kind)
    setActionError(null)
    try {
      if (kind === 'dry-run') {
        const result = await call('runs.dryRun', { job: job(), ...withBase, limit: dryRunLimit })
        setDryRun(result)
        requestAnimationFrame(() => dryRunRef.current?.scrollIntoView({ behavior: 'smooth', block: 'start' }))
        return
      }
      const saved = await call('jobs.save', { job: job(), ...withBase })
      void refreshJobs()
      if (kind === 'save-and-run') {
        const { runId } = await call('runs.start', { job: saved.name })
        navigate(href.run(runId))
      } else {
        navigate(href.jobs())
      }
    } catch (e) {
      const err = toApiError(e)
      setActionError(err)
      if (err.problems?.length) setProblems(err.problems)
    } finally {
      setBusy(null)
    }
  }

  const onDrop = (e: React.DragEvent): void => {
    e.preventDefault()
    e.stopPropagation()
    setDragOver(false)
    const d = readDrop(e.dataTransfer)
    if (!d) return
    if (d.ok) chooseFolder(d.folder, d.include)
    else setDropMessage(d.message)
  }

  const nameTaken = editName === undefined && jobs?.some((j) => j.name === draft.name.trim())
  const renamed = editName !== undefined && draft.name.trim() !== editName
  const nameNote = (
    <>
      {nameTaken && <p className="muted small">A job with this name exists: saving makes this its new version.</p>}
      {renamed && <p className="muted small">Saving under a new name makes a new job; “{editName}” stays as it is.</p>}
    </>
  )

  if (loadError) {
    return (
      <section className="page">
        <PageHeader title="Edit job" back={{ href: href.jobs(), label: 'Jobs' }} />
        <ErrorNotice error={loadError} />
      </section>
    )
  }

  return (
    <section className="page editor">
      <PageHeader
        title={editName === undefined ? 'New job' : `Edit “${editName}”`}
        subtitle={
          isFiles
            ? 'Choose a folder, say what should run on each file in it, and see the exact commands before anything runs.'
            : 'Choose a folder, look at what is in it, say what should happen to every record, and try it on a sample.'
        }
        back={editName === undefined ? { href: href.jobs(), label: 'Jobs' } : { href: href.job(editName), label: editName }}
      />
      {!loaded ? (
        <p className="muted">Loading the job…</p>
      ) : (
        <>
          {editName === undefined ? (
            <KindChoice value={draft.kind} onChange={setKind} />
          ) : (
            <p className="muted job-kind-note" data-testid="job-kind">
              {kindTitle(draft.kind)}
            </p>
          )}
          <section className="card" aria-labelledby="sec-input">
            <h2 id="sec-input">
              <span className="sec-number">1</span> Input folder
            </h2>
            <div
              className={`drop-zone${dragOver ? ' drag-over' : ''}`}
              onDragOver={(e) => {
                e.preventDefault()
                e.stopPropagation()
                setDragOver(true)
              }}
              onDragLeave={() => setDragOver(false)}
              onDrop={onDrop}
              data-testid="drop-zone"
            >
              <div className="folder-row">
                <label className="field grow">
                  <span>Folder with the files to process</span>
                  <input
                    value={draft.folder}
                    onChange={(e) => {
                      const folder = e.target.value
                      setDraft((d) => {
                        const next = withFolder(d, folder)
                        if (!nameEdited) next.name = baseName(folder)
                        return next
                      })
                    }}
                    placeholder="Drop a folder here, or choose one"
                    spellCheck={false}
                    data-testid="input-folder"
                  />
                </label>
                <button type="button" className="btn" onClick={() => setPickerOpen(true)} data-testid="choose-folder">
                  Choose folder…
                </button>
              </div>
              <p className="muted small">Batchery only reads this folder; it never changes anything in it.</p>
              {dropMessage && (
                <p className="field-problem" role="status">
                  {dropMessage}
                </p>
              )}
            </div>
            <SectionProblems problems={placed.input.filter((p) => p.sub === 'folder')} />
          </section>

          {isFiles && (
            <FilesJobEditor
              draft={draft}
              placed={placed}
              hasFolder={hasFolder}
              nameNote={nameNote}
              onChange={(patch) => setDraft((d) => ({ ...d, ...patch }))}
              onFilesChange={setFiles}
              onNameChange={setName}
            />
          )}

          {!isFiles && hasFolder && (
            <section className="card" aria-labelledby="sec-preview">
              <h2 id="sec-preview">
                <span className="sec-number">2</span> What is in it
                {previewLoading && <span className="muted small"> · reading…</span>}
              </h2>
              <PreviewPanel
                preview={preview}
                settings={draft}
                loading={previewLoading}
                error={previewError}
                problems={placed.input.filter((p) => p.sub !== 'folder')}
                onChange={setSettings}
              />
            </section>
          )}

          {!isFiles && (
          <>
          <section className="card" aria-labelledby="sec-steps">
            <h2 id="sec-steps">
              <span className="sec-number">3</span> Steps
            </h2>
            {draft.steps.length === 0 && <p className="muted">No steps: records are written as they are read. Add steps from the presets below.</p>}
            <div className="steps">
              {draft.steps.map((step, i) => (
                <StepCard
                  key={step.id}
                  step={step}
                  index={i}
                  count={draft.steps.length}
                  columns={columnsBefore(draft.steps, i, inputColumns)}
                  problems={placed.steps.get(i) ?? []}
                  onChange={(s) => setStep(i, s)}
                  onMove={(delta) => moveStep(i, delta)}
                  onRemove={() => removeStep(i)}
                />
              ))}
            </div>
            <div className="presets" role="group" aria-label="Add a step">
              <span className="muted small">Add a step:</span>
              {PRESETS.map((p) => (
                <button key={p.kind} type="button" className="btn btn-small" onClick={() => addStep(p.kind)} data-testid={`add-step-${p.kind}`}>
                  + {p.label}
                </button>
              ))}
            </div>
          </section>

          <section className="card" aria-labelledby="sec-output">
            <h2 id="sec-output">
              <span className="sec-number">4</span> Output and name
            </h2>
            <div className="settings-grid">
              <label className="field span-2">
                <span>Output folder</span>
                <input
                  value={draft.outputFolder}
                  onChange={(e) => setDraft((d) => ({ ...d, outputFolder: e.target.value, outputFolderEdited: true }))}
                  placeholder={hasFolder ? defaultOutputFolder(draft.folder) : 'Choose the input folder first'}
                  spellCheck={false}
                  aria-invalid={placed.output.some((p) => p.sub === 'folder')}
                  data-testid="output-folder"
                />
              </label>
              <label className="field">
                <span>Output format</span>
                <select value={draft.outputFormat} onChange={(e) => setDraft((d) => ({ ...d, outputFormat: e.target.value as JobDraft['outputFormat'] }))} data-testid="output-format">
                  <option value="jsonl">JSON lines</option>
                  <option value="csv">CSV</option>
                  <option value="tsv">TSV</option>
                  <option value="json">JSON array</option>
                  <option value="xlsx">Excel workbook (.xlsx)</option>
                  <option value="parquet">Parquet (.parquet)</option>
                </select>
              </label>
              {(draft.outputFormat === 'csv' || draft.outputFormat === 'tsv') && (
                <label className="field">
                  <span>Quotes around values</span>
                  <select value={draft.quoting || 'needed'} onChange={(e) => setDraft((d) => ({ ...d, quoting: e.target.value as JobDraft['quoting'] }))} data-testid="output-quoting">
                    <option value="needed">Only where needed (like spreadsheets)</option>
                    <option value="all">Around every value</option>
                  </select>
                </label>
              )}
              <label className="field">
                <span>Files written</span>
                <select value={draft.layout} onChange={(e) => setDraft((d) => ({ ...d, layout: e.target.value as JobDraft['layout'] }))} data-testid="output-layout">
                  <option value="per-input">One per input file</option>
                  <option value="merged">One merged file</option>
                </select>
              </label>
              <label className="field">
                <span>Job name</span>
                <input
                  value={draft.name}
                  onChange={(e) => setName(e.target.value)}
                  maxLength={100}
                  aria-invalid={placed.name.length > 0}
                  data-testid="job-name"
                />
              </label>
              <label className="field">
                <span>Stop the run after this many failed records</span>
                <input
                  value={draft.maxFailedRecords}
                  onChange={(e) => setDraft((d) => ({ ...d, maxFailedRecords: e.target.value }))}
                  inputMode="numeric"
                  placeholder="no limit"
                  aria-invalid={placed.policy.length > 0}
                  data-testid="max-failed"
                />
              </label>
            </div>
            <SplitFields draft={draft} problems={placed.output} onChange={(patch) => setDraft((d) => ({ ...d, ...patch }))} />
            {nameNote}
            <SectionProblems problems={placed.name.map((message) => ({ sub: 'name', message }))} />
            <SectionProblems problems={placed.output.filter((p) => !p.sub.startsWith('split'))} />
            <SectionProblems problems={placed.policy} />
          </section>
          </>
          )}

          <ScheduleEditor
            value={draft}
            onChange={(patch) => setDraft((d) => ({ ...d, ...patch }))}
            triggerProblems={placed.triggers}
            problems={placed.schedule}
            isNew={editName === undefined}
          />

          {(placed.other.length > 0 || warnings.length > 0 || (!isFiles && placed.processor.length > 0)) && (
            <section className="card" aria-label="Other problems">
              <SectionProblems
                problems={[...placed.other.map((p) => ({ sub: p.path === '(job)' ? '' : p.path, message: p.message })), ...(isFiles ? [] : placed.processor)]}
              />
              {warnings.length > 0 && (
                <ul className="warnings">
                  {warnings.map((w, i) => (
                    <li key={i}>{w}</li>
                  ))}
                </ul>
              )}
            </section>
          )}

          <div className="action-bar">
            <p className="muted small" aria-live="polite" data-testid="validation-summary">
              {!hasFolder
                ? 'Choose an input folder to begin.'
                : checking
                  ? 'Checking the job…'
                  : problems.length === 0
                    ? 'The job looks right.'
                    : `${problems.length} problem${problems.length === 1 ? '' : 's'} to fix, shown next to ${problems.length === 1 ? 'its place' : 'their places'}.`}
            </p>
            <ErrorNotice error={actionError} onDismiss={() => setActionError(null)} />
            <div className="action-buttons">
              <button type="button" className="btn" onClick={() => void runAction('dry-run')} disabled={!hasFolder || busy !== null} data-testid="dry-run">
                {busy === 'dry-run' ? 'Trying…' : 'Dry run'}
              </button>
              <button type="button" className="btn" onClick={() => void runAction('save')} disabled={!hasFolder || busy !== null} data-testid="save-job">
                Save
              </button>
              <button type="button" className="btn btn-primary" onClick={() => void runAction('save-and-run')} disabled={!hasFolder || busy !== null} data-testid="save-and-run">
                Save and run
              </button>
            </div>
          </div>

          {dryRun && (
            <section className="card" aria-labelledby="sec-dry-run" ref={dryRunRef}>
              <h2 id="sec-dry-run">Dry run</h2>
              {isFiles ? <FilesDryRunPanel result={dryRun} limit={dryRunLimit} /> : <DryRunPanel result={dryRun} limit={dryRunLimit} />}
            </section>
          )}
        </>
      )}
      <FolderPicker open={pickerOpen} startPath={draft.folder} onChoose={(p) => chooseFolder(p)} onClose={() => setPickerOpen(false)} />
    </section>
  )
}

/**
 * Output files of at most N records or N MB each. The engine numbers them name-part-0001,
 * name-part-0002…, so the fields say so; problems at output.split.* are shown here.
 */
function SplitFields(props: { draft: JobDraft; problems: { sub: string; message: string }[]; onChange: (patch: Partial<JobDraft>) => void }): React.JSX.Element {
  const { draft, onChange } = props
  const problems = props.problems.filter((p) => p.sub === 'split' || p.sub.startsWith('split.'))
  const on = (sub: string): boolean => problems.some((p) => p.sub === `split.${sub}`)
  return (
    <div className="split-fields" role="group" aria-labelledby="split-title">
      <p id="split-title" className="field-label">
        Split into files of at most
      </p>
      <div className="split-row">
        <label className="field">
          <span>Records per file</span>
          <input
            value={draft.splitRecords}
            onChange={(e) => onChange({ splitRecords: e.target.value })}
            inputMode="numeric"
            placeholder="no limit"
            aria-invalid={on('records')}
            data-testid="split-records"
          />
        </label>
        <label className="field">
          <span>Size per file</span>
          <input
            className="mono"
            value={draft.splitSize}
            onChange={(e) => onChange({ splitSize: e.target.value })}
            placeholder="no limit (like 100MB)"
            spellCheck={false}
            aria-invalid={on('bytes')}
            data-testid="split-size"
          />
        </label>
      </div>
      <p className="muted small">
        Past the limit the output goes on in a new file; the files are numbered <code>name-part-0001</code>, <code>name-part-0002</code>… Leave both empty
        for one file per output.
      </p>
      <SectionProblems problems={problems} />
    </div>
  )
}
