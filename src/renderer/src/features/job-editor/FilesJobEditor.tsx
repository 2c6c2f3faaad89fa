import { CommandEditor, FieldProblems } from './CommandEditor'
import type { FilesDraft, JobDraft, PlacedProblems } from './job-draft'
import { defaultOutputFolder } from './paths'
import { SectionProblems } from './PreviewPanel'

type Problem = { sub: string; message: string }

/**
 * The sections of a files job after its input folder: which files it takes, what runs on each
 * (a command or a JavaScript module), where the results go and the run's limits. Problems from
 * the job check are shown at the field their path names.
 */
export function FilesJobEditor(props: {
  draft: JobDraft
  placed: PlacedProblems
  hasFolder: boolean
  nameNote: React.ReactNode
  onChange: (patch: Partial<JobDraft>) => void
  onFilesChange: (patch: Partial<FilesDraft>) => void
  onNameChange: (name: string) => void
}): React.JSX.Element {
  const { draft, placed, onChange, onFilesChange } = props
  const f = draft.files
  const input = (sub: string): Problem[] => placed.input.filter((p) => p.sub === sub)
  const policy = (sub: string): Problem[] => placed.policy.filter((p) => p.sub === sub)
  const knownPolicy = new Set(['concurrency', 'retries', 'timeout', 'maxFailedRecords'])

  return (
    <>
      <section className="card" aria-labelledby="sec-files">
        <h2 id="sec-files">
          <span className="sec-number">2</span> Which files
        </h2>
        <div className="settings-grid">
          <div className="field-block">
            <label className="field">
              <span>Files to take</span>
              <input
                value={draft.include}
                onChange={(e) => onChange({ include: e.target.value })}
                placeholder="* (every file)"
                spellCheck={false}
                aria-invalid={input('include').length > 0}
                data-testid="input-include"
              />
            </label>
            <FieldProblems problems={input('include')} />
          </div>
          <div className="field-block">
            <label className="field">
              <span>Files to leave out</span>
              <input
                value={f.exclude}
                onChange={(e) => onFilesChange({ exclude: e.target.value })}
                placeholder="none"
                spellCheck={false}
                aria-invalid={input('exclude').length > 0}
                data-testid="input-exclude"
              />
            </label>
            <FieldProblems problems={input('exclude')} />
          </div>
        </div>
        <p className="muted small">
          Patterns, separated by commas: <code>*.txt</code> takes the .txt files in the folder, <code>**/*.txt</code> those in its subfolders too. Hidden files are
          never taken. Each file is one item: the command runs once for it.
        </p>
        <SectionProblems problems={placed.input.filter((p) => p.sub !== 'folder' && p.sub !== 'include' && p.sub !== 'exclude')} />
      </section>

      <section className="card" aria-labelledby="sec-processor">
        <h2 id="sec-processor">
          <span className="sec-number">3</span> What runs on each file
        </h2>
        <div className="choice-row" role="radiogroup" aria-label="What runs on each file">
          <label className="field field-check-line">
            <input type="radio" name="processor" checked={f.processor === 'command'} onChange={() => onFilesChange({ processor: 'command' })} data-testid="processor-command" />
            <span>A command (a program on this computer)</span>
          </label>
          <label className="field field-check-line">
            <input type="radio" name="processor" checked={f.processor === 'module'} onChange={() => onFilesChange({ processor: 'module' })} data-testid="processor-module" />
            <span>A JavaScript module</span>
          </label>
        </div>
        {f.processor === 'command' ? (
          <CommandEditor files={f} problems={placed.processor} onChange={onFilesChange} />
        ) : (
          <ModuleFields files={f} problems={placed.processor} onChange={onFilesChange} />
        )}
      </section>

      <section className="card" aria-labelledby="sec-output">
        <h2 id="sec-output">
          <span className="sec-number">4</span> Output, name and limits
        </h2>
        <div className="settings-grid">
          <div className="field-block span-2">
            <label className="field">
              <span>Output folder</span>
              <input
                value={draft.outputFolder}
                onChange={(e) => onChange({ outputFolder: e.target.value, outputFolderEdited: true })}
                placeholder={props.hasFolder ? defaultOutputFolder(draft.folder) : 'Choose the input folder first'}
                spellCheck={false}
                aria-invalid={placed.output.some((p) => p.sub === 'folder')}
                data-testid="output-folder"
              />
            </label>
            <p className="muted small">What the command writes into {'{out}'} is moved here when its file succeeds, in file order. A file that fails leaves nothing.</p>
          </div>
          <label className="field">
            <span>Job name</span>
            <input value={draft.name} onChange={(e) => props.onNameChange(e.target.value)} maxLength={100} aria-invalid={placed.name.length > 0} data-testid="job-name" />
          </label>
          <NumberField label="How many files at once" value={f.concurrency} placeholder="all cores" problems={policy('concurrency')} testId="files-concurrency" onChange={(v) => onFilesChange({ concurrency: v })} />
          <NumberField
            label="Tries again after a failure"
            value={f.retries}
            placeholder="0"
            problems={policy('retries')}
            testId="files-retries"
            onChange={(v) => onFilesChange({ retries: v })}
          />
          <div className="field-block">
            <label className="field">
              <span>Time limit per file</span>
              <input
                className="mono"
                value={f.timeout}
                onChange={(e) => onFilesChange({ timeout: e.target.value })}
                placeholder="30m"
                spellCheck={false}
                aria-invalid={policy('timeout').length > 0}
                data-testid="files-timeout"
              />
            </label>
            <small className="muted">Like 90s, 10m or 1h. The command, and all it started, is stopped past it.</small>
            <FieldProblems problems={policy('timeout')} />
          </div>
          <NumberField
            label="Stop the run after this many failed files"
            value={draft.maxFailedRecords}
            placeholder="no limit"
            problems={policy('maxFailedRecords')}
            testId="max-failed"
            onChange={(v) => onChange({ maxFailedRecords: v })}
          />
        </div>
        {props.nameNote}
        <SectionProblems problems={placed.name.map((message) => ({ sub: 'name', message }))} />
        <SectionProblems problems={placed.output} />
        <SectionProblems problems={placed.policy.filter((p) => !knownPolicy.has(p.sub))} />
      </section>
    </>
  )
}

function NumberField(props: { label: string; value: string; placeholder: string; problems: Problem[]; testId: string; onChange: (v: string) => void }): React.JSX.Element {
  return (
    <div className="field-block">
      <label className="field">
        <span>{props.label}</span>
        <input
          value={props.value}
          onChange={(e) => props.onChange(e.target.value)}
          inputMode="numeric"
          placeholder={props.placeholder}
          aria-invalid={props.problems.length > 0}
          data-testid={props.testId}
        />
      </label>
      <FieldProblems problems={props.problems} />
    </div>
  )
}

function ModuleFields(props: { files: FilesDraft; problems: Problem[]; onChange: (patch: Partial<FilesDraft>) => void }): React.JSX.Element {
  const { files: f, problems, onChange } = props
  const on = (sub: string): Problem[] => problems.filter((p) => p.sub === sub)
  const rest = problems.filter((p) => p.sub !== 'module' && p.sub !== 'export')
  return (
    <div className="settings-grid">
      <div className="field-block span-2">
        <label className="field">
          <span>JavaScript file (.mjs or .js)</span>
          <input
            className="mono"
            value={f.module}
            onChange={(e) => onChange({ module: e.target.value })}
            placeholder="/path/to/convert.mjs"
            spellCheck={false}
            aria-invalid={on('module').length > 0}
            data-testid="module-path"
          />
        </label>
        <FieldProblems problems={on('module')} />
      </div>
      <div className="field-block">
        <label className="field">
          <span>Function to call</span>
          <input
            className="mono"
            value={f.exportName}
            onChange={(e) => onChange({ exportName: e.target.value })}
            placeholder="the default export"
            spellCheck={false}
            aria-invalid={on('export').length > 0}
            data-testid="module-export"
          />
        </label>
        <FieldProblems problems={on('export')} />
      </div>
      <p className="muted small span-2">
        The function gets each file’s full path and its details (out, name, stem, ext, seq, dir, rel), runs in Batchery’s worker threads, and fails the file
        by throwing. What it writes into <code>out</code> becomes the file’s results.
      </p>
      <FieldProblems problems={rest} />
    </div>
  )
}
